"""A burst of subscribes on the Redis adapter (what a hand-over's reconnects look like) must
queue for Redis connections, not fail: redis-py 8's default pool raises past 100 connections
in use, which answered every subscribe beyond that with "Internal server error"."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import redis.asyncio as aioredis
import websockets

from pusherd.config import Secret
from tests.conftest import StartPusherd

REDIS_URL = "redis://127.0.0.1:6379/0"
SOCKETS = 300


async def test_300_simultaneous_subscribes_all_succeed(start_pusherd: StartPusherd) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    server = await start_pusherd(
        adapter="redis",
        redis_url=Secret(REDIS_URL),
        redis_prefix=prefix,
        laravel_redis_prefix=None,
    )
    sockets = []
    try:
        for _ in range(SOCKETS):
            ws = await websockets.connect(server.ws_url())
            await asyncio.wait_for(ws.recv(), 5)
            sockets.append(ws)
        subscribe = orjson.dumps(
            {"event": "pusher:subscribe", "data": {"channel": "burst"}}
        ).decode()
        # Every subscribe in flight at once.
        await asyncio.gather(*(ws.send(subscribe) for ws in sockets))
        replies = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 30) for ws in sockets))
        events = [orjson.loads(reply)["event"] for reply in replies]
        failed = [event for event in events if event != "pusher_internal:subscription_succeeded"]
        assert failed == [], f"{len(failed)} of {SOCKETS} subscribes failed"
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
        client = aioredis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
