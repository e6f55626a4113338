from __future__ import annotations

import orjson

from poller.config import load_catalogue
from poller.detect import EventOccurred, MatchUpdated, StatusChanged, detect
from poller.model import StatusBucket
from poller.routing import Outbound, RoutingOptions, route
from pusherd.protocol.channels import is_valid_channel_name
from tests.poller.factories import event, football

NOW = 1_791_036_000.0
CAT = load_catalogue()
OPTS = RoutingOptions()
M = "sports.football.leagues.premier-league.matches.7"


def channels(messages: list[Outbound]) -> list[str]:
    return [m.channel for m in messages]


def test_update_goes_to_every_public_rich_and_cache_channel() -> None:
    out = route(MatchUpdated(football(), None), catalogue=CAT, now=NOW, options=OPTS)
    assert channels(out) == [
        "sports.football",
        "sports.football.leagues.premier-league",
        M,
        "sports.football.teams.101",
        "sports.football.teams.102",
        f"private-{M}",
        f"presence-{M}",
        "cache-sports.football",
        "cache-sports.football.leagues.premier-league",
        f"cache-{M}",
        "cache-sports.football.teams.101",
        "cache-sports.football.teams.102",
        f"private-cache-{M}",
        f"presence-cache-{M}",
    ]
    assert all(is_valid_channel_name(c) for c in channels(out))
    assert {m.event for m in out} == {"match.update"}
    compact = [m.data for m in out if not m.channel.startswith(("private", "presence"))]
    assert len(set(compact)) == 1  # encoded once, shared by every public channel
    assert compact[0] is out[0].data
    rich = orjson.loads(out[5].data)
    assert "status_short" in rich and rich["league_id"] == "premier-league"


def test_event_goes_to_match_team_and_rich_channels_only() -> None:
    _, state = detect(None, football(events=(event(),)))
    change = EventOccurred(state.match, state.match.events[0])
    out = route(change, catalogue=CAT, now=NOW, options=OPTS)
    assert channels(out) == [
        M,
        "sports.football.teams.101",
        "sports.football.teams.102",
        f"private-{M}",
        f"presence-{M}",
    ]
    assert orjson.loads(out[3].data)["detail"] == "Normal Goal"


def test_status_goes_to_public_and_rich_not_cache() -> None:
    out = route(
        StatusChanged(football(), StatusBucket.SCHEDULED), catalogue=CAT, now=NOW, options=OPTS
    )
    assert len(out) == 7 and not any("cache-" in c for c in channels(out))


def test_unlisted_league_uses_numeric_id_and_options_trim_channels() -> None:
    opts = RoutingOptions(
        has_cache_channels=False, has_team_channels=False, has_rich_channels=False
    )
    out = route(MatchUpdated(football(league_id=5555), None), catalogue=CAT, now=NOW, options=opts)
    assert channels(out) == [
        "sports.football",
        "sports.football.leagues.5555",
        "sports.football.leagues.5555.matches.7",
    ]
