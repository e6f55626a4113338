"""Upstream calls do not grow with subscribers, and barely with live matches (the issue's bar).

The poller has no notion of subscribers: one batch call per tick serves every channel, so the
subscriber count cannot change the call count. The live-match count only adds the ``ids=``
fetches of finished matches (20 per call). Figures print with ``-s``.
"""

from __future__ import annotations

import random

import httpx
import pytest

from poller.clock import FakeClock
from poller.routing import RoutingOptions
from poller.simulator.app import Simulator, build_app
from poller.simulator.demo import LEAGUES, baseball_game, basketball_game, football_match
from poller.simulator.quota import Account
from poller.simulator.scenario import ScriptedMatch, Side
from poller.simulator.world import World
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

KICKOFF = SAMPLE_DAY + 15 * 3600
#: One hour that ends with the closing minutes and the final whistle of every match.
WINDOW = {
    "football": (55 * 60, 115 * 60),
    "basketball": (10 * 60, 70 * 60),
    "baseball": (125 * 60, 185 * 60),
}


def world_of(sport: str, n: int, clock: FakeClock) -> World:
    rng = random.Random(n)
    matches: list[ScriptedMatch] = []
    for i in range(n):
        home, away = Side(80_000 + 2 * i, f"Home {i}"), Side(80_001 + 2 * i, f"Away {i}")
        if sport == "football":
            matches.append(
                football_match(rng, 970_000 + i, LEAGUES["football"], home, away, KICKOFF)
            )
        elif sport == "basketball":
            matches.append(basketball_game(rng, 970_000 + i, home, away, KICKOFF))
        else:
            matches.append(baseball_game(rng, 970_000 + i, home, away, KICKOFF))
    return World(matches, clock=clock)


async def calls_in_window(sport: str, n: int) -> tuple[int, int]:
    start, end = WINDOW[sport]
    clock = FakeClock(KICKOFF + start - 60)  # one minute of warm-up polls, not counted
    sim = Simulator(
        world=world_of(sport, n, clock),
        accounts={PAID_KEY: Account(PAID_KEY, daily_limit=75_000, minute_limit=450)},
    )
    pub = RecordingPublisher()
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:
        # Public channels only: the channel fan-out is not what this test measures.
        routing = RoutingOptions(
            has_cache_channels=False, has_team_channels=False, has_rich_channels=False
        )
        poller = make_poller(
            sport,
            "http://sim",
            http,
            clock,
            key=PAID_KEY,
            publisher=pub,
            daily_limit=75_000,
            minute_limit=450,
            routing=routing,
        )
        await drive(poller, clock, KICKOFF + start)
        before = len(sim.log)
        await drive(poller, clock, KICKOFF + end)
    return len(sim.log) - before, len(pub.messages)


@pytest.mark.parametrize("sport", ["football", "basketball", "baseball"])
async def test_calls_per_hour_barely_grow_from_10_to_50_live_matches(sport: str) -> None:
    ten, ten_messages = await calls_in_window(sport, 10)
    fifty, fifty_messages = await calls_in_window(sport, 50)
    print(
        f"\n{sport}: calls/hour at 10 live = {ten}, at 50 live = {fifty} "
        f"(messages published: {ten_messages} vs {fifty_messages})"
    )
    assert fifty_messages > 4 * ten_messages  # five times the matches, five times the news
    assert fifty - ten <= 6  # ...for at most a handful more upstream calls (ids= batches)
