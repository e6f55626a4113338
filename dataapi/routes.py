"""The whole ``/api/v1`` route table, as data: path, resource method, tier resource, response
model and query parameters. The app is built from it and so is the OpenAPI document, so the two
cannot disagree (issue 11 item 8: "never maintained twice")."""

from __future__ import annotations

from dataclasses import dataclass

from dataapi import models
from dataapi.access import Resource

__all__ = ["DATE_PATTERN", "PATH_PARAMETERS", "QUERY_PARAMETERS", "ROUTES", "RouteSpec"]

#: A calendar date as the API reads it (the day itself is checked too: 2026-02-30 is a 422).
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
#: Every path parameter: name → (JSON schema, description).
PATH_PARAMETERS: dict[str, tuple[dict[str, object], str]] = {
    "sport": (
        {"type": "string", "pattern": "^[a-z][a-z-]{0,31}$"},
        "Sport, lower case and hyphenated (`football`)",
    ),
    "league": (
        {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,99}$"},
        "League slug from the catalogue (`premier-league`) or the upstream id",
    ),
    "id": ({"type": "string", "pattern": "^[0-9]{1,15}$"}, "The upstream numeric id"),
}

_STATUS = "(scheduled|live|break|finished|postponed|cancelled|suspended|unknown)"

#: Every query parameter the API reads: name → (JSON schema, description).
QUERY_PARAMETERS: dict[str, tuple[dict[str, object], str]] = {
    "limit": ({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
    "date": (
        {"type": "string", "pattern": DATE_PATTERN},
        "Day (UTC), default today",
    ),
    "cursor": (
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,200}$"},
        "The `next` link's cursor (opaque; one this API did not issue is a 422)",
    ),
    "status": (
        {"type": "string", "pattern": rf"^{_STATUS}(,{_STATUS})*$"},
        "Comma-separated status buckets: scheduled, live, break, finished, postponed, "
        "cancelled, suspended, unknown",
    ),
    "from": ({"type": "string", "pattern": DATE_PATTERN}, "First day (UTC), default a week ago"),
    "to": ({"type": "string", "pattern": DATE_PATTERN}, "Last day (UTC), default in a week"),
}
_PAGE = ("limit", "cursor")


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str
    name: str  # the DataResources method
    resource: Resource
    summary: str
    response: type
    query: tuple[str, ...] = _PAGE


ROUTES = (
    RouteSpec("/sports", "sports", Resource.REFERENCE, "Sports served", models.SportList),
    RouteSpec(
        "/sports/{sport}/leagues",
        "leagues",
        Resource.REFERENCE,
        "Leagues of a sport",
        models.LeagueList,
    ),
    RouteSpec(
        "/sports/{sport}/leagues/{league}/standings",
        "standings",
        Resource.STANDINGS,
        "A league's table, as the upstream gives it",
        models.StandingsBody,
        query=(),
    ),
    RouteSpec(
        "/matches/live", "live", Resource.LIVE, "Matches in play, every sport", models.LiveList
    ),
    RouteSpec(
        "/sports/{sport}/matches/live", "live", Resource.LIVE, "Matches in play", models.LiveList
    ),
    RouteSpec(
        "/sports/{sport}/leagues/{league}/matches",
        "league_matches",
        Resource.MATCHES,
        "A league's matches on one day",
        models.MatchList,
        query=("date", "status", *_PAGE),
    ),
    RouteSpec(
        "/sports/{sport}/matches/{id}",
        "match",
        Resource.MATCHES,
        "One match with its ordered event timeline",
        models.MatchDetailBody,
        query=(),
    ),
    RouteSpec(
        "/sports/{sport}/teams/{id}/matches",
        "team_matches",
        Resource.TEAMS,
        "A team's matches between two dates",
        models.MatchList,
        query=("from", "to", *_PAGE),
    ),
)
