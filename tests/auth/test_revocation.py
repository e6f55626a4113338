"""Revocation over real Redis pub/sub: a key revoked elsewhere leaves this node's cache at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis as sync_redis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from auth import revocation
from auth.cache import VerificationCache
from auth.keys import ApiKey
from auth.revocation import RevocationListener, publish_revocation, revocation_channel

NOW = datetime(2027, 1, 1, tzinfo=UTC)
TIMEOUT_S = 5.0


def _record(key_id: str) -> ApiKey:
    return ApiKey(key_id=key_id, user_id=key_id, name="n", tier="pro", key_hash="h", created_at=NOW)


@pytest.fixture
def publisher() -> sync_redis.Redis:
    return sync_redis.Redis.from_url("redis://127.0.0.1:6379/0")


async def test_a_published_revocation_evicts_the_key(
    redis: Redis, redis_prefix: str, publisher: sync_redis.Redis
) -> None:
    cache = VerificationCache(digest_key=b"k" * 32)
    cache.put(b"a", _record("aaaa"), now=0)
    cache.put(b"b", _record("bbbb"), now=0)
    try:
        async with RevocationListener(redis=redis, prefix=redis_prefix, cache=cache) as listener:
            assert publish_revocation(publisher, redis_prefix, "aaaa") == 1
            async with asyncio.timeout(TIMEOUT_S):
                await listener.wait_handled(1)
            assert cache.get(b"a", now=1) is None
            assert cache.get(b"b", now=1) is not None
    finally:
        publisher.close()


async def test_other_prefixes_do_not_reach_the_listener(
    redis: Redis, redis_prefix: str, publisher: sync_redis.Redis
) -> None:
    cache = VerificationCache(digest_key=b"k" * 32)
    try:
        async with RevocationListener(redis=redis, prefix=redis_prefix, cache=cache):
            assert publish_revocation(publisher, redis_prefix + "other:", "aaaa") == 0
    finally:
        publisher.close()


def test_channel_name_uses_the_prefix() -> None:
    assert revocation_channel("p:") == "p:revocations"


class _FlakyPubSub:
    """Fails once (as a dropped connection does), then delivers one revocation, then idles."""

    def __init__(self) -> None:
        self.calls = 0
        self.idle = asyncio.Event()

    async def get_message(self, **_: object) -> dict[str, object] | None:
        self.calls += 1
        if self.calls == 1:
            raise RedisConnectionError("connection lost")
        if self.calls == 2:
            return {"type": "message", "data": b"bbbb"}
        await self.idle.wait()
        return None


async def test_a_listener_error_clears_the_cache_and_listening_resumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(revocation, "_RETRY_DELAY_S", 0.0)
    cache = VerificationCache(digest_key=b"k" * 32)
    cache.put(b"a", _record("aaaa"), now=0)
    cache.put(b"b", _record("bbbb"), now=0)
    client = Redis()  # never connected: the fake pubsub stands in for it
    listener = RevocationListener(redis=client, prefix="unused:", cache=cache)
    pubsub = _FlakyPubSub()
    task = asyncio.get_running_loop().create_task(listener._run(pubsub))
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await listener.wait_handled(1)
        assert len(cache) == 0
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.aclose()
