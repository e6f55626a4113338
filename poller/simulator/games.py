"""Basketball and baseball ``/games`` items at a moment of a scripted timeline (§7.1, §7.2).

Flat items, per-quarter or per-inning scores, ``status.timer`` as a string for basketball, and
``league.season`` kept as the scenario gives it (string or int, as the real hosts do).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from poller.simulator.scenario import ScriptedMatch

__all__ = ["game_json"]

_LONG = {
    "NS": "Not Started",
    "Q1": "Quarter 1",
    "Q2": "Quarter 2",
    "Q3": "Quarter 3",
    "Q4": "Quarter 4",
    "OT": "Over Time",
    "BT": "Break Time",
    "HT": "Halftime",
    "FT": "Game Finished",
    "AOT": "After Over Time",
    "POST": "Game Postponed",
    "CANC": "Game Cancelled",
    "INTR": "Interrupted",
}


def _basketball_scores(match: ScriptedMatch, now: float) -> tuple[str, str | None, list[Any]]:
    short, period_at = "NS", match.kickoff
    cells: list[dict[str, int | None]] = [
        {
            "quarter_1": None,
            "quarter_2": None,
            "quarter_3": None,
            "quarter_4": None,
            "over_time": None,
        }
        for _ in range(2)
    ]
    quarter = "quarter_1"
    for action in match.actions_until(now):
        if action.kind == "period":
            short = str(action.value)
            period_at = match.kickoff + action.at_s
            if short.startswith("Q") or short == "OT":
                quarter = f"quarter_{short[1]}" if short.startswith("Q") else "over_time"
                for side in cells:
                    side[quarter] = side[quarter] or 0
        elif action.kind == "end":
            short = str(action.value or "FT")
        elif action.kind == "score" and isinstance(action.value, int):
            side_cells = cells[0 if action.side == "home" else 1]
            side_cells[quarter] = (side_cells[quarter] or 0) + action.value
    timer: str | None = None
    if short.startswith("Q") or short == "OT":
        timer = str(int((now - period_at) // 60) + 1)
    scores = []
    for side_cells in cells:
        played = [v for v in side_cells.values() if v is not None]
        scores.append({**side_cells, "total": sum(played) if played else None})
    return short, timer, scores


def _baseball_scores(match: ScriptedMatch, now: float) -> tuple[str, list[Any]]:
    short = "NS"
    innings: list[dict[str, int | None]] = [
        {**{str(n): None for n in range(1, 10)}, "extra": None} for _ in range(2)
    ]
    hits = [0, 0]
    inning, batting = "1", 1  # away bats first (top)
    for action in match.actions_until(now):
        if action.kind == "period":
            short = str(action.value)
            inning, batting = short[2:], 1
            innings[1][inning] = 0
        elif action.kind == "bottom":
            batting = 0
            innings[0][inning] = 0
        elif action.kind == "end":
            short = str(action.value or "FT")
        elif action.kind == "score" and isinstance(action.value, int):
            innings[batting][inning] = (innings[batting][inning] or 0) + action.value
            hits[batting] += action.value + 1
    started = short != "NS" and short not in ("POST", "CANC")
    scores = []
    for side in (0, 1):
        played = [v for v in innings[side].values() if v is not None]
        scores.append(
            {
                "hits": hits[side] if started else None,
                "errors": 0 if started else None,
                "innings": innings[side],
                "total": sum(played) if started else None,
            }
        )
    return short, scores


def game_json(match: ScriptedMatch, now: float) -> dict[str, Any]:
    """The ``/games`` item for ``match`` at ``now``."""
    sport = match.sport
    if sport == "basketball":
        short, timer, scores = _basketball_scores(match, now)
        status: dict[str, Any] = {"long": _LONG.get(short, short), "short": short, "timer": timer}
    else:
        short, scores = _baseball_scores(match, now)
        long = f"Inning {short[2:]}" if short.startswith("IN") else _LONG.get(short, short)
        status = {"long": long, "short": short}
    league: dict[str, Any] = {
        "id": match.league.id,
        "name": match.league.name,
        "type": match.league.kind,
        "season": match.league.season,
        "logo": f"https://media.api-sports.io/{sport}/leagues/{match.league.id}.png",
    }
    return {
        "id": match.match_id,
        "date": datetime.fromtimestamp(int(match.kickoff), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "time": datetime.fromtimestamp(int(match.kickoff), UTC).strftime("%H:%M"),
        "timestamp": int(match.kickoff),
        "timezone": "UTC",
        "stage": None,
        "week": None,
        "venue": match.venue,
        "status": status,
        "league": league,
        "country": {
            "id": 90001,
            "name": match.league.country,
            "code": "XA",
            "flag": "https://media.api-sports.io/flags/xa.svg",
        },
        "teams": {
            side: {
                "id": team.id,
                "name": team.name,
                "logo": f"https://media.api-sports.io/{sport}/teams/{team.id}.png",
            }
            for side, team in (("home", match.home), ("away", match.away))
        },
        "scores": {"home": scores[0], "away": scores[1]},
    }
