"""Reference data (leagues, teams, standings) over whole simulated days: spare quota only.

Run with ``-s`` for the per-endpoint call figures of a Free-plan and a paid-plan day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest
import redis.asyncio as aioredis

from poller.cache import TTL_S, CacheKind, CacheReader, MemoryCache, RedisCache, cache_key
from poller.clock import FakeClock
from poller.model import StatusBucket
from poller.poll import SportPoller
from poller.providers.apisports import ApiSportsProvider
from poller.providers.base import PlanRestricted
from poller.reference import ReferenceRefresher
from poller.refplan import RefKind, RefreshCadence
from poller.resilience import BreakerState
from poller.simulator.app import Simulator, build_app
from poller.simulator.faults import Fault, FaultKind
from tests.poller.conftest import FREE_KEY, PAID_KEY, SAMPLE_DAY
from tests.poller.factories import football
from tests.poller.helpers import RecordingPublisher, drive, make_poller

DAY_END = SAMPLE_DAY + 86_400
SPORTS = ("football", "basketball", "baseball")


class RecordingCache(MemoryCache):
    """The memory cache, remembering the TTL each key was last written with."""

    def __init__(self, *, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.ttls: dict[str, int] = {}

    async def put_many(self, entries: Mapping[str, tuple[bytes, int]]) -> None:
        await super().put_many(entries)
        self.ttls.update({key: ttl for key, (_, ttl) in entries.items()})


def kind_of(path: str, params: Mapping[str, str]) -> str:
    if path in ("fixtures", "games"):
        if params.get("live") == "all" or (path == "games" and "date" in params):
            return "live"
        return "ids" if "ids" in params or "id" in params else "date"
    return path


def figures(simulator: Simulator, sport: str, label: str) -> Counter[str]:
    counts = Counter(kind_of(r.path, r.params) for r in simulator.calls(sport))
    print(f"\n{label} {sport}: {sum(counts.values())} calls {dict(sorted(counts.items()))}")
    return counts


async def paid_day(
    simulator: Simulator, clock: FakeClock, sport: str, cache: MemoryCache | None
) -> SportPoller:
    transport = httpx.ASGITransport(app=build_app(simulator))
    clock.set(SAMPLE_DAY)
    async with httpx.AsyncClient(transport=transport) as http:
        poller = make_poller(
            sport,
            "http://sim",
            http,
            clock,
            key=PAID_KEY,
            publisher=RecordingPublisher(),
            cache=cache,
        )
        await drive(poller, clock, DAY_END - 1)
    return poller


def live_calls(simulator: Simulator, sport: str) -> list[tuple[float, dict[str, str]]]:
    return [(r.at, r.params) for r in simulator.calls(sport) if kind_of(r.path, r.params) == "live"]


@pytest.mark.parametrize("sport", SPORTS)
async def test_paid_day_caches_reference_data_and_keeps_the_live_cadence(
    simulator: Simulator, fake_clock: FakeClock, sport: str
) -> None:
    await paid_day(simulator, fake_clock, sport, None)
    without = live_calls(simulator, sport)
    simulator.log.clear()
    simulator.ledger = type(simulator.ledger)()
    cache = RecordingCache(clock=fake_clock)
    poller = await paid_day(simulator, fake_clock, sport, cache)
    # Live cadence unchanged: the same live calls at the same virtual instants.
    assert live_calls(simulator, sport) == without
    counts = figures(simulator, sport, "paid")
    assert sum(counts.values()) <= 7_500
    assert not [r for r in simulator.calls(sport) if r.error is not None]
    league = {"football": 90010, "basketball": 90040, "baseball": 90050}[sport]
    assert cache.ttls[cache_key(sport, "leagues")] == TTL_S[CacheKind.LEAGUES]
    assert cache.ttls[cache_key(sport, "teams", league)] == TTL_S[CacheKind.TEAMS]
    assert counts["leagues"] == 1  # once a day
    leagues_today = 2 if sport == "football" else 1  # football has a league and a cup
    assert 1 <= counts["teams"] / leagues_today <= 4  # every six hours, per league
    if sport == "football":
        assert cache.ttls[cache_key(sport, "standings", league)] == TTL_S[CacheKind.STANDINGS]
        # Every 20 minutes around the day's matches, plus one after each final whistle.
        assert 10 <= counts["standings"] <= 40
        # The cup has no table (its coverage says so): never asked for.
        asked = {r.params["league"] for r in simulator.calls(sport) if r.path == "standings"}
        assert asked == {"90010"}
    else:
        assert counts["standings"] == 0  # not offered by the v1 hosts in the reference
    assert all(
        s.match.status in (StatusBucket.FINISHED, StatusBucket.POSTPONED)
        for s in poller.states.values()
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.mark.parametrize("sport", SPORTS)
async def test_free_day_with_reference_work_keeps_the_quota_and_every_final(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator, sport: str
) -> None:
    simulator.gate_free_ids = True
    fake_clock.set(SAMPLE_DAY)
    poller = make_poller(
        sport,
        sim_url,
        http,
        fake_clock,
        key=FREE_KEY,
        publisher=RecordingPublisher(),
        daily_limit=100,
        minute_limit=10,
        cache=RecordingCache(clock=fake_clock),
    )
    await drive(poller, fake_clock, DAY_END - 1)
    counts = figures(simulator, sport, "free")
    assert sum(counts.values()) <= 100
    assert not [r for r in simulator.calls(sport) if r.error not in (None, "plan")]
    assert {s.match.match_id for s in poller.states.values()} == {
        m.match_id for m in simulator.world.of_sport(sport)
    }
    assert all(
        s.match.status in (StatusBucket.FINISHED, StatusBucket.POSTPONED)
        for s in poller.states.values()
    )


@pytest.mark.redis
async def test_after_a_final_the_table_is_refetched_and_readable_from_redis(
    sim_url: str,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    simulator: Simulator,
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 40 * 60)  # the 12:00 match ends at 13:50
    cache = RedisCache(redis=redis_client, prefix=redis_prefix)
    poller = make_poller(
        "football",
        sim_url,
        http,
        fake_clock,
        key=PAID_KEY,
        publisher=RecordingPublisher(),
        cache=cache,
    )
    await drive(poller, fake_clock, SAMPLE_DAY + 13 * 3600 + 55 * 60)
    final = next(r.at for r in simulator.log if r.params.get("ids", "").startswith("990101"))
    standings = [r.at for r in simulator.log if r.path == "standings"]
    assert any(final <= at <= final + 5 for at in standings)  # right after the final whistle
    reader = CacheReader(cache)
    table = await reader.standings("football", 90010)
    assert table is not None and table["season"] == "2026" and table["fetched_at"] >= final
    rows = table["response"][0]["league"]["standings"][0]
    assert sum(row["all"]["played"] for row in rows) == 2  # the 12:00 result is in
    leagues = await reader.leagues("football")
    teams = await reader.teams("football", 90010)
    assert leagues is not None and {i["league"]["id"] for i in leagues["response"]} == {
        90010,
        90020,
    }
    assert teams is not None and teams["response"][0]["venue"]["capacity"] > 0
    assert await reader.match("football", 990101) is not None
    for key, kind in (
        (cache_key("football", "standings", 90010), CacheKind.STANDINGS),
        (cache_key("football", "teams", 90010), CacheKind.TEAMS),
        (cache_key("football", "leagues"), CacheKind.LEAGUES),
    ):
        assert 0 < await redis_client.ttl(redis_prefix + key) <= TTL_S[kind]


async def test_a_final_whistle_drops_the_cached_table(
    fake_clock: FakeClock, http: httpx.AsyncClient
) -> None:
    cache = MemoryCache(clock=fake_clock)
    key = cache_key("football", "standings", 39)
    await cache.put_many({key: (b"{}", 3600)})
    provider = ApiSportsProvider(client=http, hosts={}, api_key=None, clock=fake_clock)
    refresher = ReferenceRefresher(
        sport="football", provider=provider, cache=cache, cadence=RefreshCadence()
    )
    await refresher.after_poll([football(short="2H")], fake_clock.time())
    assert await cache.get(key) == b"{}"
    await refresher.after_poll([football(short="FT")], fake_clock.time())
    assert await cache.get(key) is None
    assert refresher.finished_at == {39: fake_clock.time()}


async def test_reference_failures_never_open_the_breaker(
    simulator: Simulator, fake_clock: FakeClock
) -> None:
    simulator.faults.add(Fault(FaultKind.HTTP_500, times=50, sport="football", path="standings"))
    transport = httpx.ASGITransport(app=build_app(simulator))
    fake_clock.set(SAMPLE_DAY + 12 * 3600)
    async with httpx.AsyncClient(transport=transport) as http:
        poller = make_poller(
            "football",
            "http://sim",
            http,
            fake_clock,
            key=PAID_KEY,
            publisher=RecordingPublisher(),
            cache=MemoryCache(clock=fake_clock),
        )
        await drive(poller, fake_clock, SAMPLE_DAY + 13 * 3600)
    attempts = [r.at for r in simulator.log if r.path == "standings"]
    assert len(attempts) == 4  # one per retry_s (15 min), not a retry storm
    assert poller.p.breaker.state is BreakerState.CLOSED
    live = [r for r in simulator.log if r.params == {"live": "all"}]
    assert len(live) >= 3600 / 15 - 5


async def test_a_plan_refusal_waits_for_the_next_day(
    fake_clock: FakeClock, http: httpx.AsyncClient
) -> None:
    provider = ApiSportsProvider(client=http, hosts={}, api_key=None, clock=fake_clock)
    refresher = ReferenceRefresher(
        sport="football",
        provider=provider,
        cache=MemoryCache(clock=fake_clock),
        cadence=RefreshCadence(),
    )
    now = fake_clock.time()
    request = refresher.due(
        [football(short="2H")], now=now, spare_calls=100, next_live_in_s=15, can_call=True
    )
    assert request is not None and request.kind is RefKind.STANDINGS
    refresher.failed(PlanRestricted("Free plans do not have access to this season"), now)
    assert refresher.not_before[request.key] == (now // 86_400 + 1) * 86_400 + 60
    nothing = refresher.due(
        [football(short="2H")], now=now, spare_calls=100, next_live_in_s=15, can_call=False
    )
    assert nothing is None and refresher.next_at == now + 1.0  # no token to spare: look soon
