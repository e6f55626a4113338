"""The fake upstream's endpoints: query parameters in, ``(errors, response)`` out (§3, §7, §8.3).

Validation reproduces the real error objects: unknown endpoint, unknown parameter, missing
parameters, ``season`` required with ``league``, too many ``ids`` (that text is invented, as the
reference notes), and the Free plan's ``ids`` gate when enabled. ``/leagues``, ``/teams`` and
football ``/standings`` answer from :mod:`poller.simulator.reference`; ``/standings`` without a
numeric ``league`` gets an ``errors.league`` message (text invented: the real endpoint also takes
``team`` alone, which the poller never sends).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from poller.simulator.world import World

__all__ = ["EndpointResult", "MAX_IDS", "answer"]

MAX_IDS = 20
_ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("football", "fixtures"): frozenset(
        "id ids live date league season team last next from to round status venue timezone".split()
    ),
    ("football", "fixtures/events"): frozenset({"fixture", "team", "player", "type"}),
    ("football", "leagues"): frozenset(
        "id name country code season team type current search last".split()
    ),
    ("football", "teams"): frozenset("id name league season country code venue search".split()),
    ("football", "standings"): frozenset({"season", "league", "team"}),
    ("football", "timezone"): frozenset(),
}
for _sport in ("basketball", "baseball"):
    _ALLOWED[(_sport, "games")] = frozenset("id date league season team timezone h2h".split())
    _ALLOWED[(_sport, "leagues")] = frozenset("id name country code season type search".split())
    _ALLOWED[(_sport, "teams")] = frozenset("id name league season country search".split())
_NO_PARAMS_OK = {"timezone", "leagues"}


@dataclass(frozen=True, slots=True)
class EndpointResult:
    errors: dict[str, str]
    response: list[Any]


def _err(field: str, message: str) -> EndpointResult:
    return EndpointResult({field: message}, [])


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def answer(
    world: World, sport: str, path: str, params: Mapping[str, str], *, gate_free_ids: bool
) -> EndpointResult:
    allowed = _ALLOWED.get((sport, path))
    if allowed is None:
        return _err("endpoint", "This endpoint do not exist.")
    for name in params:
        if name not in allowed:
            return _err(name, f"The {name.capitalize()} field do not exist.")
    if not params and path not in _NO_PARAMS_OK:
        return _err("required", "At least one parameter is required.")
    if path == "fixtures":
        return _fixtures(world, params, gate_free_ids=gate_free_ids)
    if path == "fixtures/events":
        fixture = _int(params.get("fixture"))
        if fixture is None:
            return _err("fixture", "The Fixture field must contain an integer.")
        items = world.fixtures(live="all", ids=[fixture]) or world.fixtures(ids=[fixture])
        return EndpointResult({}, items[0].get("events", []) if items else [])
    if path == "games":
        return EndpointResult(
            {},
            world.games(
                sport,
                game_id=_int(params.get("id")),
                date=params.get("date"),
                league=_int(params.get("league")),
            ),
        )
    if path == "leagues":
        return EndpointResult({}, world.leagues(sport, league_id=_int(params.get("id"))))
    if path == "teams":
        if "league" in params and "season" not in params:
            return _err("season", "The Season field is required.")
        return EndpointResult(
            {}, world.teams(sport, league=_int(params.get("league")), season=params.get("season"))
        )
    if path == "standings":
        if "season" not in params:
            return _err("season", "The Season field is required.")
        league = _int(params.get("league"))
        if league is None:
            return _err("league", "The League field must contain an integer.")
        return EndpointResult({}, world.standings(league, params["season"]))
    return EndpointResult({}, [])


def _fixtures(world: World, params: Mapping[str, str], *, gate_free_ids: bool) -> EndpointResult:
    if "league" in params and "season" not in params and "live" not in params:
        return _err("season", "The Season field is required.")
    ids: list[int] | None = None
    if "ids" in params:
        if gate_free_ids:
            return _err("plan", "Free plans do not have access to the Ids parameter.")
        parts = params["ids"].split("-")
        if not all(p.isdigit() for p in parts):
            return _err("ids", "The Ids field must contain integers separated by '-'.")
        if len(parts) > MAX_IDS:
            return _err("ids", f"Maximum of {MAX_IDS} ids allowed.")  # text invented (§8.3)
        ids = [int(p) for p in parts]
    elif "id" in params:
        one = _int(params["id"])
        if one is None:
            return _err("id", "The Id field must contain an integer.")
        ids = [one]
    statuses = set(params["status"].split("-")) if "status" in params else None
    items = world.fixtures(
        live=params.get("live"),
        ids=ids,
        date=params.get("date"),
        league=_int(params.get("league")),
        statuses=statuses,
    )
    return EndpointResult({}, items)
