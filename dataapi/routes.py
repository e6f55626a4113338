"""The whole ``/api/v1`` route table, as data: path, resource method, tier resource, response
model and query parameters. The app is built from it and so is the OpenAPI document, so the two
cannot disagree (issue 11 item 8: "never maintained twice")."""

from __future__ import annotations

from dataclasses import dataclass

from dataapi import models
from dataapi.access import Resource

__all__ = ["QUERY_PARAMETERS", "ROUTES", "RouteSpec"]

#: Every query parameter the API reads: name → (JSON schema, description).
QUERY_PARAMETERS: dict[str, tuple[dict[str, object], str]] = {
    "limit": ({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
    "cursor": ({"type": "string", "maxLength": 200}, "The `next` link's cursor"),
    "date": ({"type": "string", "format": "date"}, "Day (UTC), default today"),
    "status": (
        {"type": "string", "pattern": r"^[a-z]+(,[a-z]+)*$"},
        "Comma-separated status buckets: scheduled, live, break, finished, postponed, "
        "cancelled, suspended, unknown",
    ),
    "from": ({"type": "string", "format": "date"}, "First day (UTC), default a week ago"),
    "to": ({"type": "string", "format": "date"}, "Last day (UTC), default in a week"),
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
