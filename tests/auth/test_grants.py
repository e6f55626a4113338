from __future__ import annotations

import dataclasses

import pytest
from redis.asyncio import Redis

from auth.grants import GrantRegistry, MemoryGrants, RedisGrants, SocketGrant
from tests.auth.conftest import FakeClock

GRANT = SocketGrant(
    socket_id="123.456",
    key_id="0123456789abcdef",
    user_id="u42",
    tier="pro",
    max_connections=20,
    rest_requests_per_minute=600,
)


@pytest.fixture(params=["memory", "redis"])
def registry(
    request: pytest.FixtureRequest, clock: FakeClock, redis: Redis, redis_prefix: str
) -> GrantRegistry:
    if request.param == "memory":
        return MemoryGrants(clock=clock, ttl_s=60)
    return RedisGrants(redis=redis, prefix=redis_prefix, ttl_s=60)


async def test_lookup_returns_what_was_recorded(registry: GrantRegistry) -> None:
    assert await registry.lookup("123.456") is None
    await registry.record(GRANT)
    assert await registry.lookup("123.456") == GRANT
    assert await registry.lookup("999.999") is None


async def test_the_latest_grant_for_a_socket_wins(registry: GrantRegistry) -> None:
    await registry.record(GRANT)
    other = SocketGrant(
        socket_id="123.456",
        key_id="fedcba9876543210",
        user_id="u7",
        tier="enterprise",
        max_connections=500,
        rest_requests_per_minute=6000,
    )
    await registry.record(other)
    assert await registry.lookup("123.456") == other


async def test_forget_removes_the_grant(registry: GrantRegistry) -> None:
    await registry.record(GRANT)
    await registry.forget("123.456")
    assert await registry.lookup("123.456") is None
    await registry.forget("123.456")  # idempotent


async def test_memory_grants_expire_and_are_swept(clock: FakeClock) -> None:
    grants = MemoryGrants(clock=clock, ttl_s=60)
    await grants.record(GRANT)
    clock.advance(60)
    assert await grants.lookup("123.456") is None
    await grants.record(dataclasses.replace(GRANT, socket_id="1.1"))
    assert len(grants) == 1


async def test_redis_grants_carry_a_ttl(redis: Redis, redis_prefix: str) -> None:
    await RedisGrants(redis=redis, prefix=redis_prefix, ttl_s=60).record(GRANT)
    ttl_ms = await redis.pttl(f"{redis_prefix}grant:123.456")
    assert 0 < ttl_ms <= 60_000


async def test_a_corrupt_redis_grant_reads_as_none(redis: Redis, redis_prefix: str) -> None:
    await redis.set(f"{redis_prefix}grant:1.2", b"{not json")
    assert await RedisGrants(redis=redis, prefix=redis_prefix).lookup("1.2") is None


async def test_redis_failures_do_not_fail_the_caller() -> None:
    broken: Redis = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        grants = RedisGrants(redis=broken, prefix="x:")
        await grants.record(GRANT)
        assert await grants.lookup("123.456") is None
        await grants.forget("123.456")
    finally:
        await broken.aclose()


def test_grant_json_round_trip() -> None:
    assert SocketGrant.from_json(GRANT.to_json()) == GRANT
    assert SocketGrant.from_json(b'{"socket_id": "1.2"}') is None
