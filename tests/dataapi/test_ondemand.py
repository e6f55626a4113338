"""On-demand reads and staleness against the simulated upstream and its request log (issue 11
item 2): a miss queues (202, then 200 or 404) without a call per request; identical misses
coalesce; the last known data is served with ``Age`` / ``X-Data-Stale-Seconds`` while the
upstream is down; 1,000 API reads a minute leave the upstream's call log as it was."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import Engine

from dataapi.ondemand import STALE_HEADER
from dataapi.store import SqlMatchStore
from poller.cache import MemoryCache
from poller.clock import FakeClock
from poller.config import load_catalogue
from poller.ondemand import MemoryOnDemand
from poller.poll import SportPoller
from poller.record import RecordingTap
from poller.simulator.app import RequestRecord, Simulator, build_app
from poller.simulator.demo import LEAGUES, demo_day, football_match
from poller.simulator.faults import FaultKind
from poller.simulator.quota import Account
from poller.simulator.scenario import Side
from poller.simulator.world import World
from poller.snapshots import MemorySnapshots
from tests.dataapi.helpers import Harness
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

#: Played the day before: on no list the poller reads today, so only an API read fetches it.
OLD = 960_500
UNKNOWN = 999_999_999
LIVE_MATCH = 990_101
START = SAMPLE_DAY + 12 * 3600 + 40 * 60
#: One upstream request as the fake upstream logged it: when, which path, which parameters.
Call = tuple[float, str, tuple[tuple[str, str], ...]]


def simulated(clock: FakeClock) -> Simulator:
    rng = random.Random(5)
    old = football_match(
        rng,
        OLD,
        LEAGUES["football"],
        Side(70_001, "Old H"),
        Side(70_002, "Old A"),
        SAMPLE_DAY - 6 * 3600,
    )
    return Simulator(
        world=World([*demo_day(7, SAMPLE_DAY), old], clock=clock),
        accounts={PAID_KEY: Account(PAID_KEY, daily_limit=7_500, minute_limit=300, plan="Pro")},
    )


@dataclass
class Setup:
    sim: Simulator
    poller: SportPoller
    api: Harness
    clock: FakeClock


@pytest.fixture
async def setup(engine: Engine) -> AsyncIterator[Setup]:
    async for built in _setup(engine):
        yield built


async def _setup(engine: Engine) -> AsyncIterator[Setup]:
    clock = FakeClock(START)
    sim = simulated(clock)
    cache = MemoryCache(clock=clock)
    board = MemoryOnDemand(clock=clock)
    tap = RecordingTap(
        recorder=SqlMatchStore(engine=engine),
        catalogue=load_catalogue(),
        clock=clock,
        retention_s=30 * 86_400,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(sim))) as http:
        poller = make_poller(
            "football",
            "http://sim",
            http,
            clock,
            key=PAID_KEY,
            publisher=tap.publisher(RecordingPublisher()),
            snapshots=tap.snapshots(MemorySnapshots()),
            cache=cache,
            on_demand=board,
        )
        api = Harness.build(engine=engine, cache=cache, clock=clock, on_demand=board)
        await drive(poller, clock, START + 10 * 60, max_step=60)
        yield Setup(sim, poller, api, clock)


def by_id(records: list[RequestRecord], *ids: int) -> list[RequestRecord]:
    def ids_of(r: RequestRecord) -> set[int]:
        raw = r.params.get("ids") or r.params.get("id") or ""
        return {int(p) for p in raw.split("-") if p.isdigit()}

    return [r for r in records if ids_of(r) & set(ids)]


async def test_a_miss_is_queued_202_then_served_and_an_unknown_match_is_404(
    setup: Setup,
) -> None:
    before = len(setup.sim.log)
    async with setup.api.client(setup.api.keys["pro"]) as client:
        for _ in range(20):  # identical misses: one queued fetch, no call per request
            queued = await client.get(f"/sports/football/matches/{OLD}")
            assert queued.status_code == 202, queued.text
            assert queued.headers["retry-after"] == "5"
            assert queued.json()["type"].endswith("/fetch-queued")
            assert (await client.get(f"/sports/football/matches/{UNKNOWN}")).status_code == 202
        assert len(setup.sim.log) == before  # the API itself never calls the upstream
        await drive(setup.poller, setup.clock, setup.clock.time() + 10, max_step=60)
        fetched = by_id(setup.sim.log[before:], OLD, UNKNOWN)
        assert len(fetched) == 1  # one upstream call answered every waiter
        served = await client.get(f"/sports/football/matches/{OLD}")
        assert served.status_code == 200, served.text
        match = served.json()["data"]
        assert match["match_id"] == OLD and match["status"] == "finished"
        assert match["events"], "the timeline came with it"
        assert STALE_HEADER not in served.headers
        missing = await client.get(f"/sports/football/matches/{UNKNOWN}")
        assert missing.status_code == 404
        assert "upstream has no match" in missing.json()["detail"]


async def test_while_the_upstream_is_down_the_last_data_is_served_with_its_staleness(
    setup: Setup,
) -> None:
    down_at = setup.clock.time()
    setup.sim.faults.outage(FaultKind.HTTP_500, until=down_at + 600)
    await drive(setup.poller, setup.clock, down_at + 300, max_step=60)
    async with setup.api.client(setup.api.keys["pro"]) as client:
        stale = await client.get(f"/sports/football/matches/{LIVE_MATCH}")
        assert stale.status_code == 200, stale.text
        age = int(stale.headers[STALE_HEADER])
        assert stale.headers["age"] == str(age)
        assert 240 <= age <= 360  # last refreshed just before the outage began
        assert stale.json()["data"]["status"] in ("live", "break")
        await drive(setup.poller, setup.clock, down_at + 1_800, max_step=60)  # breaker probes
        fresh = await client.get(f"/sports/football/matches/{LIVE_MATCH}")
        assert fresh.status_code == 200
        assert fresh.json()["data"]["status"] in ("live", "break")  # still changeable: fresh
        assert STALE_HEADER not in fresh.headers and "age" not in fresh.headers


async def upstream_calls(engine: Engine, *, reads_per_minute: int) -> tuple[list[Call], int]:
    """The upstream's request log over 10 minutes of live play, with API reads in between."""
    statuses: dict[int, int] = {}
    async for s in _setup(engine):
        start = len(s.sim.log)
        async with s.api.client(s.api.keys["enterprise"]) as client:
            for minute in range(10):
                end = START + (11 + minute) * 60
                for n in range(reads_per_minute):
                    path = (
                        "/sports/football/matches/live",
                        f"/sports/football/matches/{LIVE_MATCH}",
                        f"/sports/football/matches/{UNKNOWN}",
                        "/matches/live",
                    )[n % 4]
                    code = (await client.get(path)).status_code
                    statuses[code] = statuses.get(code, 0) + 1
                await drive(s.poller, s.clock, end, max_step=60)
        log = [(r.at, r.path, tuple(sorted(r.params.items()))) for r in s.sim.log[start:]]
    return log, sum(statuses.values())


async def test_a_thousand_api_reads_a_minute_leave_the_upstream_calls_as_they_were(
    engine: Engine, sqlite_url: str
) -> None:
    quiet, _ = await upstream_calls(engine, reads_per_minute=0)
    busy, reads = await upstream_calls(engine, reads_per_minute=1_000)
    assert reads == 10_000
    extra = [call for call in busy if call not in quiet]
    # One coalesced by-id fetch for the unknown match (then "missing", a 404 for ten minutes,
    # asked again once after that); every live poll is where it was.
    assert len(extra) <= 2 and all("ids" in dict(c[2]) or "id" in dict(c[2]) for c in extra)
    assert [c for c in busy if c not in extra] == quiet
    print(f"\nupstream calls in 10 min: {len(quiet)} without API traffic, {len(busy)} with {reads}")
