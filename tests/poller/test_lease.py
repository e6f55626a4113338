"""The per-sport poller lease on the real Redis (:mod:`poller.lease`)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from poller.lease import RedisLease


async def test_one_holder_at_a_time_and_takeover_after_expiry(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}poller:lease:football"
    a = RedisLease(redis_client, key=key, holder="a", ttl_s=0.3)
    b = RedisLease(redis_client, key=key, holder="b", ttl_s=0.3)
    assert await a.acquire()
    assert not await b.acquire()
    assert await a.acquire()  # the holder may ask again
    for _ in range(3):  # renewing keeps it past its first time to live
        await asyncio.sleep(0.15)
        assert await a.renew()
        assert not await b.acquire()
    await asyncio.sleep(0.4)  # a stops renewing: dead
    assert await b.acquire()
    assert await b.holder_now() == "b"
    # The old holder, back from a pause, cannot renew or release the new holder's lease.
    assert not await a.renew()
    await a.release()
    assert await b.holder_now() == "b"
    await b.release()
    assert await b.holder_now() is None
    assert await a.acquire()
