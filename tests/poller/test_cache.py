from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from poller.cache import (
    TTL_S,
    CacheKind,
    CacheReader,
    DataCache,
    MemoryCache,
    RedisCache,
    cache_key,
)
from poller.clock import FakeClock
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cache(request: pytest.FixtureRequest, fake_clock: FakeClock) -> DataCache:
    if request.param == "memory":
        return MemoryCache(clock=fake_clock)
    redis_client = request.getfixturevalue("redis_client")
    redis_prefix = request.getfixturevalue("redis_prefix")
    return RedisCache(redis=redis_client, prefix=redis_prefix)


async def test_contract_put_get_delete(cache: DataCache) -> None:
    await cache.put_many({"a": (b"1", 60), "b": (b"2", 60)})
    assert await cache.get("a") == b"1"
    await cache.delete("a")
    assert await cache.get("a") is None and await cache.get("b") == b"2"


async def test_memory_entries_expire_on_the_clock(fake_clock: FakeClock) -> None:
    cache = MemoryCache(clock=fake_clock)
    await cache.put_many({"k": (b"v", 45)})
    fake_clock.advance(46)
    assert await cache.get("k") is None


def test_ttls_by_kind_live_is_short_reference_data_is_long() -> None:
    assert 30 <= TTL_S[CacheKind.LIVE] <= 60 and 30 <= TTL_S[CacheKind.MATCH_LIVE] <= 60
    assert TTL_S[CacheKind.FIXTURES] >= 600 and TTL_S[CacheKind.TEAMS] >= 3600


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.mark.redis
async def test_poller_keeps_match_and_live_entries_fresh_in_redis(
    sim_url: str,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 10 * 60)
    poller = make_poller(
        "football", sim_url, http, fake_clock, key=PAID_KEY, publisher=RecordingPublisher()
    )
    poller.p.cache = RedisCache(redis=redis_client, prefix=redis_prefix)
    await drive(poller, fake_clock, fake_clock.time() + 120)
    cache = RedisCache(redis=redis_client, prefix=redis_prefix)
    live = orjson.loads(await cache.get(cache_key("football", "live")) or b"null")
    assert {m["match_id"] for m in live} == {990101, 990102}
    key = redis_prefix + cache_key("football", "match", 990102)
    entry = orjson.loads(await cache.get(cache_key("football", "match", 990102)) or b"null")
    assert entry["status"] in ("live", "break") and set(entry) >= {"home_team", "time"}
    assert 0 < await redis_client.ttl(key) <= TTL_S[CacheKind.MATCH_LIVE]


async def test_the_days_fixture_list_is_written_and_follows_status_changes(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """The fixtures TTL and the status-change invalidation used to target
    ``cache:{sport}:fixtures:{day}``, a key nothing wrote: the list must exist and be current."""
    fake_clock.set(SAMPLE_DAY + 12 * 3600 + 40 * 60)
    cache = MemoryCache(clock=fake_clock)
    poller = make_poller(
        "football", sim_url, http, fake_clock, key=PAID_KEY, publisher=RecordingPublisher()
    )
    poller.p.cache = cache
    key = cache_key("football", "fixtures", "2026-10-03")
    await drive(poller, fake_clock, fake_clock.time() + 60)
    day = orjson.loads(await cache.get(key) or b"null")
    assert day is not None, "a fixtures poll writes the day's list"
    assert {m["match_id"] for m in day} >= {990101, 990102, 990103}
    assert next(m for m in day if m["match_id"] == 990101)["status"] == "live"
    await drive(poller, fake_clock, SAMPLE_DAY + 12 * 3600 + 50 * 60)  # half time at 12:45
    day = orjson.loads(await cache.get(key) or b"null")
    assert day is not None, "a status change rewrites the list instead of deleting it"
    assert next(m for m in day if m["match_id"] == 990101)["status"] == "break"
    assert await CacheReader(cache).fixtures("football", "2026-10-03") == day


async def test_each_fixtures_poll_rewrites_the_days_lists_even_when_nothing_changed(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A day's list is rewritten on changes; a fixtures poll whose items are byte for byte the
    same changes nothing, yet the list must come back (its TTL may have run out meanwhile)."""
    fake_clock.set(SAMPLE_DAY + 9 * 3600)  # hours before the first kick-off: nothing moves
    cache = MemoryCache(clock=fake_clock)
    poller = make_poller(
        "football", sim_url, http, fake_clock, key=PAID_KEY, publisher=RecordingPublisher()
    )
    poller.p.cache = cache
    key = cache_key("football", "fixtures", "2026-10-03")
    await drive(poller, fake_clock, fake_clock.time() + 30)
    first = await cache.get(key)
    assert first is not None
    await cache.delete(key)  # as if its TTL ran out
    poller.next_fixtures_at = fake_clock.time()
    await drive(poller, fake_clock, fake_clock.time() + 30)
    assert await cache.get(key) is not None
