"""The cached read's hot path (issue 11, "The bar"): the verified-key cache in front of the auth
service, live lists parsed once per cached version, and one encoded body per version, without
any of them serving something stale or letting a revoked or expired key through."""

from __future__ import annotations

import random

import orjson
import pytest
from sqlalchemy.engine import Engine

from dataapi.access import KeyIdentity
from dataapi.errors import Unauthenticated
from dataapi.keycache import CachedKeyVerifier
from dataapi.livecache import ParsedOnce
from poller.cache import MemoryCache, cache_key
from poller.clock import FakeClock
from tests.dataapi.helpers import ApiClock, Harness


class TableVerifier:
    """A verifier over a table of usable keys, counting how often it is asked."""

    def __init__(self, keys: dict[str, KeyIdentity], clock: FakeClock) -> None:
        self.keys = keys
        self.calls = 0
        self._clock = clock

    async def identify(self, presented: str, *, client_address: str) -> KeyIdentity:
        self.calls += 1
        identity = self.keys.get(presented)
        if identity is None:
            raise Unauthenticated("invalid_key", "the API key is not valid")
        if identity.valid_until_s is not None and self._clock.time() >= identity.valid_until_s:
            raise Unauthenticated("expired_key", "the API key has expired")
        return identity


def _identity(key_id: str, valid_until_s: float | None = None) -> KeyIdentity:
    return KeyIdentity(key_id, "pro", 60, frozenset({"live"}), None, valid_until_s)


def _cached(inner: TableVerifier, clock: FakeClock) -> CachedKeyVerifier:
    return CachedKeyVerifier(
        inner, clock=ApiClock(clock), digest_key=random.Random(5).randbytes(32), ttl_s=1.0
    )


async def test_a_verified_key_is_remembered_for_the_ttl_only(fake_clock: FakeClock) -> None:
    inner = TableVerifier({"pk_a.secret": _identity("a")}, fake_clock)
    cached = _cached(inner, fake_clock)
    for _ in range(5):
        assert (await cached.identify("pk_a.secret", client_address="c")).key_id == "a"
    assert inner.calls == 1
    del inner.keys["pk_a.secret"]  # revoked where the auth service looks
    fake_clock.advance(0.5)
    await cached.identify("pk_a.secret", client_address="c")  # within the bound
    fake_clock.advance(0.6)
    with pytest.raises(Unauthenticated):
        await cached.identify("pk_a.secret", client_address="c")
    assert inner.calls == 2


async def test_eviction_and_refusals_reach_the_verifier(fake_clock: FakeClock) -> None:
    inner = TableVerifier({"pk_a.secret": _identity("a")}, fake_clock)
    cached = _cached(inner, fake_clock)
    await cached.identify("pk_a.secret", client_address="c")
    assert cached.evict_key("a") == 1 and len(cached) == 0
    await cached.identify("pk_a.secret", client_address="c")
    assert inner.calls == 2
    for _ in range(3):  # a refusal is never remembered: each one meets the failure limiters
        with pytest.raises(Unauthenticated):
            await cached.identify("pk_b.wrong", client_address="c")
    assert inner.calls == 5
    cached.clear()
    assert len(cached) == 0


async def test_an_expiring_key_stops_exactly_on_time_while_cached(fake_clock: FakeClock) -> None:
    ends = fake_clock.time() + 10
    cached = _cached(TableVerifier({"pk_a.secret": _identity("a", ends)}, fake_clock), fake_clock)
    fake_clock.advance(9.9)
    await cached.identify("pk_a.secret", client_address="c")
    fake_clock.advance(0.2)  # the entry is 0.2 s old, the key 0.1 s past its end
    with pytest.raises(Unauthenticated):
        await cached.identify("pk_a.secret", client_address="c")


async def test_an_expiring_key_is_refused_by_the_composed_api(
    engine: Engine, fake_clock: FakeClock
) -> None:
    api = Harness.build(engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock)
    expiring = api.issue("pro", expires_in_s=10)
    async with api.client(expiring) as client:
        fake_clock.advance(9.9)
        assert (await client.get("/sports")).status_code == 200
        fake_clock.advance(0.2)
        refused = await client.get("/sports")
    assert (refused.status_code, refused.json()["reason"]) == (401, "expired_key")


async def test_the_live_list_is_parsed_once_per_cached_version(fake_clock: FakeClock) -> None:
    cache = MemoryCache(clock=fake_clock)
    reader = ParsedOnce(cache, key_of=cache_key)
    key = cache_key("football", "live")
    await cache.put_many({key: (orjson.dumps([{"match_id": 1}]), 60)})
    first = await reader.live("football")
    await cache.put_many({key: (orjson.dumps([{"match_id": 1}]), 60)})  # equal bytes again
    assert await reader.live("football") is first
    await cache.put_many({key: (orjson.dumps([{"match_id": 2}]), 60)})
    changed = await reader.live("football")
    assert changed == [{"match_id": 2}] and changed is not first
    await cache.delete(key)
    assert await reader.live("football") is None


async def test_the_live_body_and_its_etag_follow_every_cache_change(
    engine: Engine, fake_clock: FakeClock
) -> None:
    cache = MemoryCache(clock=fake_clock)
    api = Harness.build(engine=engine, cache=cache, clock=fake_clock)
    key = cache_key("football", "live")

    def match(score: int) -> dict[str, object]:
        return {
            "match_id": 7,
            "sport_id": "football",
            "home_team": {"id": 1, "name": "A", "score": score},
            "last_updated": f"2026-10-03T12:00:0{score}Z",
        }

    async with api.client(api.keys["pro"]) as client:
        await cache.put_many({key: (orjson.dumps([match(0)]), 60)})
        first = await client.get("/sports/football/matches/live")
        again = await client.get("/sports/football/matches/live")
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        other = await client.get("/sports/football/matches/live?limit=1")
        assert other.json()["data"] == first.json()["data"]
        await cache.put_many({key: (orjson.dumps([match(1)]), 60)})
        scored = await client.get(
            "/sports/football/matches/live", headers={"If-None-Match": first.headers["etag"]}
        )
        assert scored.status_code == 200
        assert scored.json()["data"][0]["home_team"]["score"] == 1
        assert scored.headers["etag"] != first.headers["etag"]
        assert int(scored.headers["content-length"]) == len(scored.content)
        unchanged = await client.get(
            "/sports/football/matches/live", headers={"If-None-Match": scored.headers["etag"]}
        )
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert "ratelimit-remaining" in unchanged.headers
