from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from poller.clock import FakeClock
from poller.simulator.app import Simulator
from poller.simulator.demo import basketball_game
from poller.simulator.faults import Fault, FaultKind
from poller.simulator.scenario import Side
from poller.snapshots import RedisSnapshots
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

VAR_MATCH = "sports.football.leagues.arcadian-premier-division.matches.990102"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def test_var_match_end_to_end_through_the_simulator(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    fake_clock.set(SAMPLE_DAY + 12 * 3600 + 55 * 60)
    pub = RecordingPublisher()
    poller = make_poller("football", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    t0 = time.perf_counter()
    steps = await drive(poller, fake_clock, SAMPLE_DAY + 15 * 3600)
    elapsed = time.perf_counter() - t0
    print(f"steps={steps} calls={len(simulator.calls())} real={elapsed:.2f}s")
    statuses = [orjson.loads(m.data) for m in pub.on(VAR_MATCH, "match.status")]
    assert [(s["previous_status"], s["new_status"]) for s in statuses] == [
        ("scheduled", "live"),
        ("live", "break"),
        ("break", "live"),
        ("live", "finished"),
    ]
    events = [orjson.loads(m.data) for m in pub.on(VAR_MATCH, "match.event")]
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    types = Counter(e["event_type"] for e in events)
    assert types["var"] == 1 and types["period"] == 4
    scores = [
        (u["home_team"]["score"], u["away_team"]["score"])
        for u in map(orjson.loads, (m.data for m in pub.on(VAR_MATCH, "match.update")))
    ]
    drops = [
        (a, b)
        for a, b in zip(scores, scores[1:], strict=False)
        if a[0] is not None and b[0] is not None and b[0] < a[0]
    ]
    assert len(drops) == 1
    # The finished match was fetched by ids once it left live=all.
    assert any("ids" in r.params for r in simulator.calls())


async def test_outage_opens_the_breaker_and_recovery_resumes_updates(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 5 * 60)
    pub = RecordingPublisher()
    poller = make_poller("football", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    await drive(poller, fake_clock, fake_clock.time() + 60)
    outage_start = fake_clock.time()
    outage_end = outage_start + 600
    simulator.faults.outage(FaultKind.HTTP_503_HTML, until=outage_end)
    before = len(pub.messages)
    await drive(poller, fake_clock, outage_end)
    during = [r for r in simulator.log if outage_start <= r.at < outage_end]
    # 5 failures open the circuit; then only probes, spaced by a doubling timeout.
    assert poller.p.breaker.state.value in ("open", "half_open")
    assert 5 <= len(during) <= 10
    assert len(pub.messages) == before  # nothing invented while the upstream is down
    assert all(r.status == 503 for r in during)
    await drive(poller, fake_clock, outage_end + 900)
    assert poller.p.breaker.state.value == "closed"
    assert len(pub.messages) > before  # updates resumed, including the missed goals/minutes
    latest = orjson.loads(pub.on(VAR_MATCH, "match.update")[-1].data)
    assert latest["status"] in ("live", "break")


@pytest.mark.redis
async def test_restart_neither_resends_nor_misses_events(
    sim_url: str,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    simulator: Simulator,
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    snapshots = RedisSnapshots(redis=redis_client, prefix=redis_prefix)
    fake_clock.set(SAMPLE_DAY + 12 * 3600 + 55 * 60)
    first = RecordingPublisher()
    poller = make_poller(
        "football", sim_url, http, fake_clock, key=PAID_KEY, publisher=first, snapshots=snapshots
    )
    await poller.load()
    await drive(poller, fake_clock, SAMPLE_DAY + 13 * 3600 + 30 * 60)  # up to 13:30
    # The poller is down for 20 minutes: the VAR goal and its cancellation happen meanwhile.
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 50 * 60)
    second = RecordingPublisher()
    restarted = make_poller(
        "football", sim_url, http, fake_clock, key=PAID_KEY, publisher=second, snapshots=snapshots
    )
    await restarted.load()
    assert set(restarted.states) == set(poller.states)
    await drive(restarted, fake_clock, SAMPLE_DAY + 15 * 3600)

    def event_ids(pub: RecordingPublisher) -> list[int]:
        return [orjson.loads(m.data)["event_id"] for m in pub.on(VAR_MATCH, "match.event")]

    before, after = event_ids(first), event_ids(second)
    assert not set(before) & set(after)  # nothing re-sent
    both = [
        orjson.loads(m.data)
        for m in first.on(VAR_MATCH, "match.event") + second.on(VAR_MATCH, "match.event")
    ]
    types = Counter(e["event_type"] for e in both)
    assert types["var"] == 1 and types["period"] == 4  # nothing missed
    # The one-and-only VAR event came after the restart, with the lowered score.
    var = next(e for e in both if e["event_type"] == "var")
    assert var["event_id"] in after


async def test_publish_failure_keeps_the_changes_until_delivered(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    fake_clock.set(SAMPLE_DAY + 12 * 3600 + 58 * 60)
    pub = RecordingPublisher()
    poller = make_poller("football", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    await drive(poller, fake_clock, fake_clock.time() + 60)  # sees the 13:00 match scheduled
    pub.is_down = True
    await drive(poller, fake_clock, fake_clock.time() + 600)
    assert pub.messages and poller.p.metrics.registry.get_sample_value(
        "poller_publish_failures_total", {"sport": "football"}
    )
    pub.is_down = False
    await drive(poller, fake_clock, fake_clock.time() + 120)
    statuses = [orjson.loads(m.data)["new_status"] for m in pub.on(VAR_MATCH, "match.status")]
    assert statuses == ["live"]  # kick-off (13:00) sent once, after the outage of the bus


@pytest.mark.parametrize("kind", [FaultKind.RATE_LIMIT_200, FaultKind.HTTP_429])
async def test_per_minute_limit_backs_off_without_opening_the_breaker(
    sim_url: str,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    simulator: Simulator,
    kind: FaultKind,
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 10 * 60)
    poller = make_poller(
        "football", sim_url, http, fake_clock, key=PAID_KEY, publisher=RecordingPublisher()
    )
    await drive(poller, fake_clock, fake_clock.time() + 30)
    simulator.faults.add(Fault(kind, path="fixtures"))
    start = fake_clock.time()
    await drive(poller, fake_clock, start + 120)
    after = [r for r in simulator.log if r.at >= start]
    limited = [r for r in after if r.error == kind.value]
    assert len(limited) == 1 and poller.p.breaker.state.value == "closed"
    nxt = next(r for r in after if r.at > limited[0].at)
    assert nxt.at - limited[0].at >= 15  # paused for the minute, no immediate retry
    assert all(r.error is None for r in after if r.at > limited[0].at)


async def test_daily_quota_error_pauses_that_host_until_the_reset_only(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600)
    football = make_poller(
        "football", sim_url, http, fake_clock, key=PAID_KEY, publisher=RecordingPublisher()
    )
    basketball = make_poller(
        "basketball", sim_url, http, fake_clock, key=PAID_KEY, publisher=RecordingPublisher()
    )
    simulator.faults.add(Fault(FaultKind.QUOTA_200, sport="football"))
    await football.step()
    assert football.p.budget.remaining(fake_clock.time()) == 0
    for _ in range(20):
        fake_clock.advance(60)
        await football.step()
        await basketball.step()
    assert len(simulator.calls("football", counted_only=False)) == 1
    assert len(simulator.calls("basketball")) >= 10
    fake_clock.set(SAMPLE_DAY + 86_400 + 5)  # the 00:00 UTC reset
    await football.step()
    assert len(simulator.calls("football", counted_only=False)) == 2


async def test_rejected_key_stops_polling(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    poller = make_poller(
        "football", sim_url, http, fake_clock, key="revoked", publisher=RecordingPublisher()
    )
    assert await poller.step() == 3600.0 and poller.is_stopped
    fake_clock.advance(7200)
    assert await poller.step() == 3600.0


async def test_games_running_past_midnight_are_polled_on_both_days_lists(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    late = basketball_game(
        random.Random(5),
        999_001,
        Side(1, "Late"),
        Side(2, "Night"),
        SAMPLE_DAY + 23 * 3600 + 30 * 60,
    )
    simulator.world.add(late)
    fake_clock.set(SAMPLE_DAY + 23 * 3600 + 25 * 60)
    pub = RecordingPublisher()
    poller = make_poller("basketball", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    await drive(poller, fake_clock, SAMPLE_DAY + 86_400 + 60 * 60)
    days = {r.params.get("date") for r in simulator.log if r.at > SAMPLE_DAY + 86_400}
    assert days == {"2026-10-03", "2026-10-04"}
    assert poller.states[999_001].match.status.value == "finished"


async def test_a_coverage_gap_in_live_all_invents_no_final_whistle(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 10 * 60)
    pub = RecordingPublisher()
    poller = make_poller("football", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    await drive(poller, fake_clock, fake_clock.time() + 30)
    simulator.faults.add(Fault(FaultKind.EMPTY, path="fixtures", times=2))
    await drive(poller, fake_clock, fake_clock.time() + 300)
    assert not [m for m in pub.messages if m.event == "match.status"]
    assert poller.states[990102].match.status.is_in_play


async def test_reordered_and_duplicated_rows_still_give_one_event_each(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    simulator.world.shuffle_seed = 11  # every publish cycle lists the events in a new order
    fake_clock.set(SAMPLE_DAY + 12 * 3600 + 58 * 60)
    pub = RecordingPublisher()
    poller = make_poller("football", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    await drive(poller, fake_clock, SAMPLE_DAY + 15 * 3600)
    events = [orjson.loads(m.data) for m in pub.on(VAR_MATCH, "match.event")]
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    cards = [e for e in events if e["event_type"] == "card" and e["player_name"] == "D. Varga"]
    assert len(cards) == 1  # filed twice upstream, a minute apart
    marsh = [e for e in events if e["player_name"] in ("T. Marsh", "Tobias Marsh")]
    assert len(marsh) == 1  # name backfilled upstream


async def test_a_frozen_feed_is_surfaced_without_inventing_changes(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 10 * 60)
    pub = RecordingPublisher()
    poller = make_poller("football", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    await drive(poller, fake_clock, fake_clock.time() + 60)
    simulator.world.frozen_at = simulator.world.published_at()
    await drive(poller, fake_clock, fake_clock.time() + 20)  # catch up with the frozen cycle
    sent = len(pub.messages)
    await drive(poller, fake_clock, fake_clock.time() + 30 * 60)
    assert len(pub.messages) == sent and poller.is_stale
    assert (
        poller.p.metrics.registry.get_sample_value("poller_feed_stale", {"sport": "football"}) == 1
    )
    simulator.world.frozen_at = None
    await drive(poller, fake_clock, fake_clock.time() + 60)
    assert not poller.is_stale and len(pub.messages) > sent
