"""One OS process hammering one key's bucket in Redis: ``python -m tests.dataapi.ratelimit_worker
PREFIX KEY_ID LIMIT REQUESTS START_AT``; prints how many requests were allowed."""

from __future__ import annotations

import asyncio
import sys
import time

import redis.asyncio as aioredis

from dataapi.ratelimit import RedisRateLimiter


async def main(prefix: str, key_id: str, limit: int, requests: int, start_at: float) -> int:
    client = aioredis.Redis(host="127.0.0.1", port=6379)
    try:
        limiter = RedisRateLimiter(redis=client, prefix=prefix)
        await client.ping()
        await asyncio.sleep(max(0.0, start_at - time.time()))  # both processes start together
        decisions = await asyncio.gather(*(limiter.take(key_id, limit) for _ in range(requests)))
        return sum(d.is_allowed for d in decisions)
    finally:
        await client.aclose()


if __name__ == "__main__":
    prefix, key_id, limit, requests, start_at = sys.argv[1:6]
    print(asyncio.run(main(prefix, key_id, int(limit), int(requests), float(start_at))))
