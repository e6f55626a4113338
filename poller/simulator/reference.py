"""Reference data of the fake upstream: ``/leagues``, ``/teams`` and ``/standings`` bodies.

Shapes follow upstream reference §3.5 and the samples (``football-leagues.json``,
``football-teams.json``, ``football-standings.json``). Standings are computed from the world's
finished fixtures at the current publish cycle, so a table changes once a match ends, as the
real one does (the real one within the hour). Basketball and baseball ``/leagues`` items are
flat (``id``/``name`` at the top, ``seasons[].season``), as the provider's API-Basketball release
note shows; the reference itself gives no shape for them, and no ``/standings`` for them (§8.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from poller.simulator.scenario import League, ScriptedMatch

__all__ = ["leagues_json", "standings_json", "teams_json"]

FINISHED = frozenset({"FT", "AET", "PEN"})
MEDIA = "https://media.api-sports.io"


def _coverage(sport: str, league: League) -> dict[str, Any]:
    has_table = league.kind == "League"
    if sport != "football":
        return {"games": {"statistics": {"teams": True, "players": True}}, "standings": has_table}
    return {
        "fixtures": {
            "events": True,
            "lineups": True,
            "statistics_fixtures": True,
            "statistics_players": False,
        },
        "standings": has_table,
        "players": True,
        "top_scorers": True,
        "top_assists": True,
        "top_cards": True,
        "injuries": False,
        "predictions": True,
        "odds": False,
    }


def leagues_json(sport: str, leagues: Mapping[int, League]) -> list[dict[str, Any]]:
    out = []
    for lg in leagues.values():
        year = int(str(lg.season)[:4])
        season = {"start": f"{year}-08-08", "end": f"{year + 1}-05-16", "current": True}
        logo = f"{MEDIA}/{sport}/leagues/{lg.id}.png"
        flag = f"{MEDIA}/flags/xa.svg"
        if sport == "football":
            out.append(
                {
                    "league": {"id": lg.id, "name": lg.name, "type": lg.kind, "logo": logo},
                    "country": {"name": lg.country, "code": "XA", "flag": flag},
                    "seasons": [{"year": lg.season, **season, "coverage": _coverage(sport, lg)}],
                }
            )
        else:
            out.append(
                {
                    "id": lg.id,
                    "name": lg.name,
                    "type": lg.kind,
                    "logo": logo,
                    "country": {"id": 90, "name": lg.country, "code": "XA", "flag": flag},
                    "seasons": [{"season": lg.season, **season, "coverage": _coverage(sport, lg)}],
                }
            )
    return out


def teams_json(sport: str, matches: list[ScriptedMatch]) -> list[dict[str, Any]]:
    teams = {t.id: t for m in matches for t in (m.home, m.away)}
    return [
        {
            "team": {
                "id": t.id,
                "name": t.name,
                "code": t.name[:3].upper(),
                "country": "Arcadia",
                "founded": 1890 + t.id % 100,
                "national": False,
                "logo": f"{MEDIA}/{sport}/teams/{t.id}.png",
            },
            "venue": {
                "id": 90_000 + t.id % 1000,
                "name": f"{t.name} Ground",
                "address": None,
                "city": t.name.split()[0],
                "capacity": 20_000,
                "surface": "grass",
                "image": f"{MEDIA}/{sport}/venues/{90_000 + t.id % 1000}.png",
            },
        }
        for t in teams.values()
    ]


def _split() -> dict[str, Any]:
    return {"played": 0, "win": 0, "draw": 0, "lose": 0, "goals": {"for": 0, "against": 0}}


def standings_json(
    league: League, fixtures: list[dict[str, Any]], published_at: float
) -> list[dict[str, Any]]:
    """One group, ranked by points, goal difference and goals scored."""
    rows: dict[int, dict[str, Any]] = {}
    form: dict[int, str] = {}
    for item in fixtures:
        for side in ("home", "away"):
            team = item["teams"][side]
            rows.setdefault(
                team["id"],
                {
                    "team": {"id": team["id"], "name": team["name"], "logo": team["logo"]},
                    "points": 0,
                    "all": _split(),
                    "home": _split(),
                    "away": _split(),
                },
            )
        if item["fixture"]["status"]["short"] not in FINISHED:
            continue
        goals = item["goals"]
        for side, other in (("home", "away"), ("away", "home")):
            row = rows[item["teams"][side]["id"]]
            scored, conceded = goals[side] or 0, goals[other] or 0
            result = "W" if scored > conceded else "L" if scored < conceded else "D"
            row["points"] += {"W": 3, "D": 1, "L": 0}[result]
            form[row["team"]["id"]] = (form.get(row["team"]["id"], "") + result)[-5:]
            for split in (row["all"], row[side]):
                split["played"] += 1
                split[{"W": "win", "D": "draw", "L": "lose"}[result]] += 1
                split["goals"]["for"] += scored
                split["goals"]["against"] += conceded
    update = datetime.fromtimestamp(int(published_at), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")

    def diff(row: dict[str, Any]) -> int:
        return int(row["all"]["goals"]["for"] - row["all"]["goals"]["against"])

    ranked = sorted(
        rows.values(), key=lambda r: (-r["points"], -diff(r), -r["all"]["goals"]["for"])
    )
    table = [
        {
            "rank": rank,
            "team": row["team"],
            "points": row["points"],
            "goalsDiff": diff(row),
            "group": league.name,
            "form": form.get(row["team"]["id"]),
            "status": "same",
            "description": None,
            "all": row["all"],
            "home": row["home"],
            "away": row["away"],
            "update": update,
        }
        for rank, row in enumerate(ranked, start=1)
    ]
    return [
        {
            "league": {
                "id": league.id,
                "name": league.name,
                "country": league.country,
                "logo": f"{MEDIA}/football/leagues/{league.id}.png",
                "flag": f"{MEDIA}/flags/xa.svg",
                "season": league.season,
                "standings": [table] if table else [],
            }
        }
    ]
