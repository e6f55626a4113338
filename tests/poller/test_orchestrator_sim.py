"""The orchestrator against the fake upstream, read from its request log (issue 11 item 3).

Prefetches at 2 h / 1 h / 30 min before kick-off, identical asks coalescing into one call, a
burst of on-demand misses never delaying a due live poll, and the recorded cost equal to the
calls in the log times the price (kept per day in the data API's SQL table).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from dataapi.costs import SqlCostStore
from dataapi.store import open_match_engine
from poller.clock import FakeClock
from poller.costs import CostLedger
from poller.ondemand import Asked, MemoryOnDemand
from poller.orchestrator import PREFETCH_OFFSETS_S
from poller.simulator.app import RequestRecord, Simulator, build_app
from poller.simulator.demo import LEAGUES, demo_day, football_match
from poller.simulator.quota import Account
from poller.simulator.scenario import Side
from poller.simulator.world import World
from tests.poller.conftest import FREE_KEY, PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

KICKOFF = SAMPLE_DAY + 15 * 3600
FIXTURE = 960_001
#: Played the day before: not on today's lists, so only an on-demand read fetches it.
OLD = 960_002
UNKNOWN = 999_999_999
PRICE = 0.25


def world(clock: FakeClock) -> World:
    rng = random.Random(3)
    league = LEAGUES["football"]
    return World(
        [
            football_match(rng, FIXTURE, league, Side(1, "Home"), Side(2, "Away"), KICKOFF),
            football_match(rng, OLD, league, Side(3, "Old H"), Side(4, "Old A"), KICKOFF - 86_400),
        ],
        clock=clock,
    )


def ids_in(record: RequestRecord) -> set[int]:
    raw = record.params.get("ids") or record.params.get("id") or ""
    return {int(part) for part in raw.split("-") if part.isdigit()}


def is_live_poll(record: RequestRecord) -> bool:
    return record.params.get("live") == "all"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(KICKOFF - 3 * 3600)


@pytest.fixture
async def sim_http(clock: FakeClock) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    sim = Simulator(
        world=world(clock),
        accounts={PAID_KEY: Account(PAID_KEY, daily_limit=7_500, minute_limit=300)},
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(sim))) as http:
        yield sim, http


async def test_prefetches_at_two_hours_one_hour_and_thirty_minutes_before_kick_off(
    clock: FakeClock, sim_http: tuple[Simulator, httpx.AsyncClient]
) -> None:
    sim, http = sim_http
    poller = make_poller(
        "football", "http://sim", http, clock, key=PAID_KEY, publisher=RecordingPublisher()
    )
    await drive(poller, clock, KICKOFF - 60)
    by_id = [r.at - KICKOFF for r in sim.log if FIXTURE in ids_in(r)]
    assert by_id == [-7_200.0, -3_600.0, -1_800.0]


async def test_identical_asks_coalesce_across_priorities_into_one_call(
    clock: FakeClock, sim_http: tuple[Simulator, httpx.AsyncClient]
) -> None:
    sim, http = sim_http
    board = MemoryOnDemand(clock=clock)
    poller = make_poller(
        "football",
        "http://sim",
        http,
        clock,
        key=PAID_KEY,
        publisher=RecordingPublisher(),
        on_demand=board,
    )
    await drive(poller, clock, KICKOFF - 7_200)  # the 2-hour prefetch is due at this instant
    for _ in range(1_000):  # a burst of API misses for the same matches, and one unknown id
        assert await board.ask("football", OLD) is Asked.QUEUED
        assert await board.ask("football", FIXTURE) is Asked.QUEUED
        assert await board.ask("football", UNKNOWN) is Asked.QUEUED
    before = len(sim.log)
    await drive(poller, clock, KICKOFF - 7_000)
    calls = sim.log[before:]
    by_id = [r for r in calls if ids_in(r) & {OLD, FIXTURE, UNKNOWN}]
    assert len(by_id) == 1, [r.params for r in calls]
    assert ids_in(by_id[0]) == {OLD, FIXTURE, UNKNOWN}  # one call answered every waiter
    assert OLD in poller.states  # recorded like any poll: the store and cache now have it
    assert await board.ask("football", UNKNOWN) is Asked.MISSING  # the API answers 404
    assert await board.ask("football", OLD) is Asked.QUEUED  # found ids are never "missing"


async def live_poll_times(asks: int) -> list[float]:
    clock = FakeClock(KICKOFF + 10 * 60)
    sim = Simulator(
        world=world(clock),
        # A tight per-minute limit, so a greedy on-demand queue would starve the live poll.
        accounts={PAID_KEY: Account(PAID_KEY, daily_limit=75_000, minute_limit=10)},
    )
    board = MemoryOnDemand(clock=clock, max_queued=10_000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(sim))) as http:
        poller = make_poller(
            "football",
            "http://sim",
            http,
            clock,
            key=PAID_KEY,
            publisher=RecordingPublisher(),
            daily_limit=75_000,
            minute_limit=10,
            on_demand=board,
        )
        await drive(poller, clock, KICKOFF + 11 * 60)
        for n in range(asks):  # distinct ids the upstream does not know
            await board.ask("football", 500_000_000 + n)
        await drive(poller, clock, KICKOFF + 40 * 60)
    assert all(r.error is None and r.status == 200 for r in sim.log)
    on_demand_calls = [r for r in sim.log if ids_in(r) and min(ids_in(r)) >= 500_000_000]
    assert (len(on_demand_calls) > 0) == (asks > 0)
    return [r.at for r in sim.log if is_live_poll(r)]


async def test_a_burst_of_on_demand_misses_never_delays_a_due_live_poll() -> None:
    quiet = await live_poll_times(0)
    busy = await live_poll_times(2_000)
    assert len(quiet) > 100
    assert busy == quiet


async def test_the_recorded_cost_equals_calls_times_the_price_per_day_in_sql(
    clock: FakeClock, sim_http: tuple[Simulator, httpx.AsyncClient], tmp_path: Path
) -> None:
    sim, http = sim_http
    board = MemoryOnDemand(clock=clock)
    with open_match_engine(f"sqlite:///{tmp_path / 'costs.sqlite3'}") as engine:
        store = SqlCostStore(engine=engine)
        registry = CollectorRegistry()
        costs = CostLedger(
            price_per_call=PRICE, hosts={"football": "sim/football"}, registry=registry, sink=store
        )
        poller = make_poller(
            "football",
            "http://sim",
            http,
            clock,
            key=PAID_KEY,
            publisher=RecordingPublisher(),
            on_demand=board,
            costs=costs,
        )
        await drive(poller, clock, KICKOFF - 7_300)
        await board.ask("football", OLD)
        await drive(poller, clock, KICKOFF + 30 * 60)
        await costs.flush()
        rows = store.day("2026-10-03")
    by_priority: dict[str, int] = {}
    for row in rows:
        by_priority[row["priority"]] = by_priority.get(row["priority"], 0) + row["calls"]
        assert row["cost"] == pytest.approx(row["calls"] * PRICE)
        assert row["host"] == "sim/football"
    assert sum(by_priority.values()) == len(sim.log)
    assert sum(row["cost"] for row in rows) == pytest.approx(len(sim.log) * PRICE)
    assert by_priority["on_demand"] == 1 and by_priority["prefetch"] >= 3 + 1  # + fixtures
    assert by_priority["live"] == sum(1 for r in sim.log if is_live_poll(r))
    exported = registry.get_sample_value(
        "poller_upstream_cost_total",
        {"host": "sim/football", "endpoint": "fixtures", "priority": "live"},
    )
    assert exported == pytest.approx(by_priority["live"] * PRICE)


async def free_day(sport: str, offsets: tuple[float, ...]) -> tuple[list[tuple[float, str]], int]:
    clock = FakeClock(SAMPLE_DAY)
    sim = Simulator(
        world=World(demo_day(7, SAMPLE_DAY), clock=clock), accounts={FREE_KEY: Account(FREE_KEY)}
    )
    sim.gate_free_ids = True
    costs = CostLedger(price_per_call=1.0, hosts={}, registry=CollectorRegistry())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(sim))) as http:
        poller = make_poller(
            sport,
            "http://sim",
            http,
            clock,
            key=FREE_KEY,
            publisher=RecordingPublisher(),
            daily_limit=100,
            minute_limit=10,
            costs=costs,
            prefetch_offsets_s=offsets,
        )
        await drive(poller, clock, SAMPLE_DAY + 86_400)
    live = sum(row.calls for row in costs.pending_rows() if row.priority == "live")
    return [(r.at, str(sorted(r.params.items()))) for r in sim.log], live


@pytest.mark.parametrize("sport", ["football", "basketball"])
async def test_prefetching_never_changes_a_free_plan_days_live_calls(sport: str) -> None:
    """No spare quota: kick-off prefetches never go out, not even escalated near kick-off."""
    without, live_without = await free_day(sport, ())
    with_prefetch, live_with = await free_day(sport, PREFETCH_OFFSETS_S)
    assert with_prefetch == without
    assert live_with == live_without
