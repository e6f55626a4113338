"""One malformed upstream item drops that item, never the sport's batch (issue 10, item 8).

The malformed items come from the real simulator over loopback HTTP, listed beside healthy
matches in the same answer, exactly as a flaky upstream would send them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from poller.clock import FakeClock
from poller.simulator.app import Simulator
from poller.simulator.demo import basketball_game
from poller.simulator.scenario import Side
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

VAR_MATCH = "sports.football.leagues.arcadian-premier-division.matches.990102"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _fake_live_fixture(match_id: int, **fixture: Any) -> dict[str, Any]:
    return {
        "fixture": {"id": match_id, "status": {"short": "1H", "elapsed": 3}, **fixture},
        "league": {"id": 39, "name": "X", "season": 2026},
        "teams": {"home": {"id": 1, "name": "A"}, "away": {"id": 2, "name": "B"}},
        "goals": {"home": 0, "away": 0},
    }


def _dropped(poller_metrics: Any, sport: str, reason: str) -> float:
    value = poller_metrics.registry.get_sample_value(
        "poller_items_dropped_total", {"sport": sport, "reason": reason}
    )
    return value or 0.0


async def test_malformed_football_items_leave_the_healthy_match_updating(
    sim_url: str,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 990101 is in its second half at 13:05 with a superscript two as its minute; 990199 is a
    # whole live fixture kicking off in the year 318857; both sit beside the VAR match 990102.
    simulator.world.patches[("football", 990101)] = {"fixture": {"status": {"elapsed": "²"}}}
    simulator.world.extra_items["football"] = [
        _fake_live_fixture(990199, timestamp=10**13),
        _fake_live_fixture(990198, status={"short": "2H", "elapsed": "٣"}),  # Arabic-Indic 3
        "not an object",
        {"fixture": {"id": 990197}},
    ]
    fake_clock.set(SAMPLE_DAY + 13 * 3600 + 5 * 60)
    pub = RecordingPublisher()
    poller = make_poller("football", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    with caplog.at_level(logging.WARNING, logger="poller.poll"):
        await drive(poller, fake_clock, SAMPLE_DAY + 13 * 3600 + 35 * 60)

    updates = pub.on(VAR_MATCH, "match.update")
    assert len(updates) >= 10  # one per minute of play, and the kick-off
    assert 990102 in poller.states
    # Non-ASCII digits are not numbers: the minute is unknown, the match itself is fine.
    assert poller.states[990101].match.elapsed is None
    assert 990198 in poller.states and poller.states[990198].match.elapsed is None
    assert 990199 not in poller.states and 990197 not in poller.states
    metrics = poller.p.metrics
    assert _dropped(metrics, "football", "timestamp") >= 2
    assert _dropped(metrics, "football", "not_an_object") >= 2
    assert _dropped(metrics, "football", "missing_field") >= 2
    drops = [r for r in caplog.records if "dropping" in r.getMessage()]
    assert len(drops) == 3, [r.getMessage() for r in drops]  # once per item id and reason


async def test_a_basketball_game_from_the_far_future_does_not_stop_the_sport(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    # Before the fix this one game made every step raise: the rich payload formats the kick-off.
    healthy = basketball_game(
        random.Random(3), 995_050, Side(1, "Hill"), Side(2, "Dale"), SAMPLE_DAY + 12.5 * 3600
    )
    simulator.world.add(healthy)
    simulator.world.patches[("basketball", 995001)] = {"timestamp": 10**13}
    fake_clock.set(SAMPLE_DAY + 12 * 3600 + 25 * 60)
    pub = RecordingPublisher()
    poller = make_poller("basketball", sim_url, http, fake_clock, key=PAID_KEY, publisher=pub)
    await drive(poller, fake_clock, SAMPLE_DAY + 13 * 3600)
    assert 995001 not in poller.states
    assert poller.states[995_050].match.status.is_in_play
    updates = [m for m in pub.messages if m.channel.endswith(".matches.995050")]
    assert len({m.data for m in updates}) >= 5
    assert _dropped(poller.p.metrics, "basketball", "timestamp") >= 5
