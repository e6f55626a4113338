"""``/leagues``, ``/teams``, ``/standings`` through the provider: one call each, real shapes,
and the same error translation as the live endpoints (quota in a 200 body, 429, 5xx)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from poller.clock import FakeClock
from poller.config import HostConfig, Secret
from poller.providers.apisports import ApiSportsProvider
from poller.providers.base import (
    BadRequest,
    Fetch,
    QuotaExhausted,
    RateLimited,
    Unavailable,
    UpstreamError,
)
from poller.simulator.app import Simulator
from poller.simulator.faults import Fault, FaultKind
from tests.poller.conftest import PAID_KEY, sample

SPORTS = ("football", "basketball", "baseball")


@pytest.fixture
async def provider(sim_url: str, fake_clock: FakeClock) -> AsyncIterator[ApiSportsProvider]:
    async with httpx.AsyncClient() as http:
        yield ApiSportsProvider(
            client=http,
            hosts={s: HostConfig(s, f"{sim_url}/{s}") for s in SPORTS},
            api_key=Secret(PAID_KEY),
            clock=fake_clock,
            timeout_s=2.0,
        )


def keys_of(value: object) -> object:
    """The shape of a JSON value: nested key sets, first list item only."""
    if isinstance(value, dict):
        return {k: keys_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_of(value[0])] if value else []
    return None


async def test_football_reference_calls_match_the_sample_shapes(
    provider: ApiSportsProvider, simulator: Simulator
) -> None:
    leagues = await provider.leagues("football")
    teams = await provider.teams("football", 90010, "2026")
    standings = await provider.standings("football", 90010, "2026")
    assert [(r.path, r.params) for r in simulator.log] == [
        ("leagues", {"current": "true"}),
        ("teams", {"league": "90010", "season": "2026"}),
        ("standings", {"league": "90010", "season": "2026"}),
    ]
    assert all(r.is_counted for r in simulator.log)  # each one spends quota like any call
    assert keys_of(leagues.items[0]) == keys_of(sample("football-leagues.json")["response"][0])
    assert keys_of(teams.items[0]) == keys_of(sample("football-teams.json")["response"][0])
    table = sample("football-standings.json")["response"][0]
    assert keys_of(standings.items[0]) == keys_of(table)
    assert len(teams.items) == 10  # the five league matches' teams, not the cup's


@pytest.mark.parametrize("sport", ["basketball", "baseball"])
async def test_v1_hosts_serve_leagues_and_teams_but_no_standings(
    provider: ApiSportsProvider, simulator: Simulator, sport: str
) -> None:
    leagues = await provider.leagues(sport)
    season = str(leagues.items[0]["seasons"][0]["season"])
    teams = await provider.teams(sport, leagues.items[0]["id"], season)
    assert teams.items and simulator.log[0].params == {}
    with pytest.raises(BadRequest):
        await provider.standings(sport, leagues.items[0]["id"], season)
    assert len(simulator.log) == 2  # refused without spending a call


Call = Callable[[ApiSportsProvider], Awaitable[Fetch]]
CALLS: dict[str, Call] = {
    "leagues": lambda p: p.leagues("football"),
    "teams": lambda p: p.teams("football", 90010, "2026"),
    "standings": lambda p: p.standings("football", 90010, "2026"),
}


@pytest.mark.parametrize("path", list(CALLS))
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (FaultKind.QUOTA_200, QuotaExhausted),
        (FaultKind.RATE_LIMIT_200, RateLimited),
        (FaultKind.HTTP_429, RateLimited),
        (FaultKind.HTTP_500, Unavailable),
    ],
)
async def test_errors_are_typed_like_the_live_endpoints(
    provider: ApiSportsProvider,
    simulator: Simulator,
    path: str,
    fault: FaultKind,
    error: type[UpstreamError],
) -> None:
    simulator.faults.add(Fault(fault, path=path))
    with pytest.raises(error):
        await CALLS[path](provider)


async def test_missing_season_is_a_bad_request(
    provider: ApiSportsProvider,
) -> None:
    with pytest.raises(BadRequest, match="Season"):
        await provider.get("football", "standings", {"league": "90010"})
