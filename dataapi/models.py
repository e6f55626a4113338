"""Typed response models of ``/api/v1``: the source of the OpenAPI schemas (issue 11 item 8).

msgspec Structs, because they turn into JSON Schema 2020-12 (what OpenAPI 3.1 uses) with one
call, they are a small, well-kept C library with no transitive dependencies, and the same types
can check a body at run time. ``forbid_unknown_fields`` makes the schemas closed, so a test that
validates real responses against them catches any key the code adds without the model. Field
names are the event schema's (``event-schema.md``), word for word.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "Event",
    "League",
    "LeagueList",
    "LiveMatch",
    "Match",
    "MatchDetail",
    "MatchDetailBody",
    "MatchList",
    "LiveList",
    "Problem",
    "Sport",
    "SportList",
    "Standings",
    "StandingsBody",
    "Team",
]


class _Closed(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Team(_Closed):
    id: int
    name: str
    score: int | None


class LiveMatch(_Closed):
    """The compact ``match.update`` payload."""

    match_id: int
    sport_id: str
    league_id: str
    status: str
    home_team: Team
    away_team: Team
    period: str | None
    time: str | None
    last_updated: str


class Match(_Closed):
    """``match.update`` plus the kick-off time (an extra key, as payload tiers allow)."""

    match_id: int
    sport_id: str
    league_id: str
    status: str
    home_team: Team
    away_team: Team
    period: str | None
    time: str | None
    last_updated: str
    start_time: str


class Event(_Closed):
    """A ``match.event`` payload with the ``event_id`` the WebSocket carried."""

    match_id: int
    event_id: int
    event_type: str
    team_id: int | None
    player_name: str | None
    time: str | None
    description: str
    home_score: int | None
    away_score: int | None
    timestamp: str


class MatchDetail(_Closed):
    match_id: int
    sport_id: str
    league_id: str
    status: str
    home_team: Team
    away_team: Team
    period: str | None
    time: str | None
    last_updated: str
    events: list[Event]
    #: Absent while a match is known only to the live cache.
    start_time: str | None = None


class Sport(_Closed):
    sport_id: str


class League(_Closed):
    league_id: str
    sport_id: str
    name: str
    season: str
    upstream_id: int
    last_updated: str


class Standings(_Closed):
    league_id: str
    sport_id: str
    season: Any
    standings: list[Any]


class SportList(_Closed):
    data: list[Sport]
    next: str | None
    last_updated: str | None


class LeagueList(_Closed):
    data: list[League]
    next: str | None
    last_updated: str | None


class LiveList(_Closed):
    data: list[LiveMatch]
    next: str | None
    last_updated: str | None


class MatchList(_Closed):
    data: list[Match]
    next: str | None
    last_updated: str | None


class MatchDetailBody(_Closed):
    data: MatchDetail
    last_updated: str | None


class StandingsBody(_Closed):
    data: Standings
    last_updated: str | None


class Problem(msgspec.Struct):
    """RFC 9457 problem details; extension members (``parameter``, ``reason``) may follow."""

    type: str
    title: str
    status: int
    detail: str
    parameter: str | None = None
    reason: str | None = None
