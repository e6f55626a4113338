"""A whole simulated day against the fake upstream on an injected clock: the quota holds.

Prints the figures the issue asks for (run with ``-s``): upstream calls per sport, the busiest
hour, and when (if ever) the budget reached its reserve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from poller.clock import FakeClock
from poller.model import StatusBucket
from poller.simulator.app import Simulator, build_app
from tests.poller.conftest import FREE_KEY, PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

DAY_END = SAMPLE_DAY + 86_400


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def report(simulator: Simulator, sport: str, plan: str) -> dict[str, int]:
    calls = [r for r in simulator.log if r.sport == sport]
    per_hour = Counter(int((r.at - SAMPLE_DAY) // 3600) for r in calls)
    # "plan" is the Free plan refusing ids= once, which the provider answers by using id=.
    quota_errors = [r for r in calls if r.status != 200 or r.error not in (None, "plan")]
    figures = {
        "calls": len(calls),
        "busiest_hour": max(per_hour.values(), default=0),
        "errors": len(quota_errors),
    }
    print(f"\n{plan} {sport}: {figures} per hour={dict(sorted(per_hour.items()))}")
    return figures


@pytest.mark.parametrize("sport", ["football", "basketball", "baseball"])
async def test_free_plan_day_never_exceeds_the_quota_and_sees_every_final(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator, sport: str
) -> None:
    simulator.gate_free_ids = True  # Free plans may not use ids= (§6.1)
    fake_clock.set(SAMPLE_DAY)
    pub = RecordingPublisher()
    poller = make_poller(
        sport,
        sim_url,
        http,
        fake_clock,
        key=FREE_KEY,
        publisher=pub,
        daily_limit=100,
        minute_limit=10,
    )
    await drive(poller, fake_clock, DAY_END - 1)
    figures = report(simulator, sport, "free")
    assert figures["errors"] == 0  # never a rateLimit, never errors.requests
    assert len(simulator.calls(sport)) <= 100
    finals = {s.match.match_id: s.match.status for s in poller.states.values()}
    expected = {m.match_id for m in simulator.world.of_sport(sport)}
    assert set(finals) == expected
    assert all(
        status in (StatusBucket.FINISHED, StatusBucket.POSTPONED) for status in finals.values()
    )


@pytest.mark.parametrize("sport", ["football", "basketball", "baseball"])
async def test_paid_plan_day_keeps_live_cadence_within_the_quota(
    simulator: Simulator, fake_clock: FakeClock, sport: str
) -> None:
    # In-process ASGI transport: the same app and code path, without 2,000 loopback sockets.
    transport = httpx.ASGITransport(app=build_app(simulator))
    fake_clock.set(SAMPLE_DAY)
    async with httpx.AsyncClient(transport=transport) as http:
        pub = RecordingPublisher()
        poller = make_poller(
            sport,
            "http://sim",
            http,
            fake_clock,
            key=PAID_KEY,
            publisher=pub,
            daily_limit=7_500,
            minute_limit=300,
        )
        await drive(poller, fake_clock, DAY_END - 1)
    figures = report(simulator, sport, "paid")
    assert figures["errors"] == 0 and figures["calls"] <= 7_500
    # At most one call per closing-minutes interval, plus a few final-state fetches by ids.
    closing_s = {"football": 10, "basketball": 5, "baseball": 30}[sport]
    assert figures["busiest_hour"] <= 3600 / closing_s + 10
    assert all(
        s.match.status in (StatusBucket.FINISHED, StatusBucket.POSTPONED)
        for s in poller.states.values()
    )
