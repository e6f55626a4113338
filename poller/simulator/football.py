"""Football fixture JSON at a moment of a scripted timeline (upstream reference §3.2, §3.3, §5).

Reproduces the quirks a poller must survive: ``halftime`` mirrors the running score during the
first half, ``winner`` is live, ``goals`` excludes the shoot-out, ``extratime`` holds ET-only
goals, shoot-out kicks sit at 120' with the kick number in ``extra``, a VAR-disallowed goal lowers
``goals`` and its row is replaced by (or kept next to) a ``Var`` row, and old rows get their
player names backfilled.
"""

from __future__ import annotations

import random
from typing import Any

from poller.simulator.scenario import Action, ScriptedMatch

__all__ = ["fixture_json"]

_LONG = {
    "NS": "Not Started",
    "1H": "First Half",
    "HT": "Halftime",
    "2H": "Second Half",
    "ET": "Extra Time",
    "BT": "Break Time",
    "P": "Penalty In Progress",
    "FT": "Match Finished",
    "AET": "Match Finished",
    "PEN": "Match Finished",
    "PST": "Match Postponed",
    "CANC": "Match Cancelled",
    "SUSP": "Match Suspended",
    "INT": "Match Interrupted",
}
# Status entered by each period action, and the match minute its clock starts from.
_PERIODS = {
    "kickoff": ("1H", 0, 45),
    "half_time": ("HT", None, None),
    "second_half": ("2H", 45, 90),
    "extra_time": ("ET", 90, 105),
    "et_break": ("BT", None, None),
    "et_second": ("ET", 105, 120),
    "penalties": ("P", None, None),
    "postpone": ("PST", None, None),
    "cancel": ("CANC", None, None),
    "suspend": ("SUSP", None, None),
}


def _pair(home: int | None, away: int | None) -> dict[str, int | None]:
    return {"home": home, "away": away}


def _event_row(
    match: ScriptedMatch, action: Action, minute: tuple[int, int | None]
) -> dict[str, Any]:
    team = match.home if action.side == "home" else match.away
    player, assist = action.player, action.assist
    kinds = {"goal": "Goal", "card": "Card", "subst": "subst", "var": "Var", "shootout": "Goal"}
    return {
        "time": {"elapsed": minute[0], "extra": minute[1]},
        "team": {
            "id": team.id,
            "name": team.name,
            "logo": f"https://media.api-sports.io/football/teams/{team.id}.png",
        },
        "player": {"id": player.id if player else None, "name": player.name if player else None},
        "assist": {"id": assist.id if assist else None, "name": assist.name if assist else None},
        "type": kinds[action.kind],
        "detail": action.detail or "",
        "comments": action.comments,
    }


def fixture_json(
    match: ScriptedMatch,
    now: float,
    *,
    events: bool,
    with_details: bool,
    shuffle: random.Random | None = None,
) -> dict[str, Any]:
    """The ``/fixtures`` item for ``match`` as the upstream would publish it at ``now``."""
    short, clock_start, clock_cap, period_at = "NS", 0, 45, match.kickoff
    goals = [0, 0]
    et_goals = [0, 0]
    ht: list[int] | None = None
    ft: list[int] | None = None
    pens = [0, 0]
    rows: list[tuple[Action, dict[str, Any]]] = []
    kicks = 0
    started = False
    periods: dict[str, int | None] = {"first": None, "second": None}

    def minute_at(at_s: float) -> tuple[int, int | None]:
        played = int((match.kickoff + at_s - period_at) // 60) + 1 + clock_start
        if played > clock_cap:
            return clock_cap, played - clock_cap
        return played, None

    for action in match.actions_until(now):
        side = 0 if action.side == "home" else 1
        if action.kind in _PERIODS:
            short, start, cap = _PERIODS[action.kind]
            if start is not None and cap is not None:
                clock_start, clock_cap, period_at = start, cap, match.kickoff + action.at_s
            if action.kind == "kickoff":
                started = True
                periods["first"] = int(match.kickoff + action.at_s)
            if action.kind == "half_time":
                ht = list(goals)
            if action.kind == "second_half":
                periods["second"] = int(match.kickoff + action.at_s)
            if action.kind == "extra_time":
                ft = list(goals)
        elif action.kind == "end":
            short = str(action.value or "FT")
            if ft is None:
                ft = list(goals)
        elif action.kind == "goal":
            if action.detail != "Missed Penalty":
                goals[side] += 1
                if short == "ET":
                    et_goals[side] += 1
            rows.append((action, _event_row(match, action, minute_at(action.at_s))))
        elif action.kind in ("card", "subst"):
            rows.append((action, _event_row(match, action, minute_at(action.at_s))))
        elif action.kind == "shootout_kick":
            kicks += 1
            if action.detail == "Penalty":
                pens[side] += 1
            kick = Action(
                action.at_s,
                "shootout",
                action.side,
                action.player,
                detail=action.detail,
                comments="Penalty Shootout",
            )
            rows.append((kick, _event_row(match, kick, (120, kicks))))
        elif action.kind == "var_disallow" and (goal := _target(match, action)) is not None:
            gside = 0 if goal.side == "home" else 1
            goals[gside] -= 1
            if short == "ET":
                et_goals[gside] -= 1
            original = next((r for r in rows if r[0] is goal), None)
            minute: tuple[int, int | None] = (
                (original[1]["time"]["elapsed"], original[1]["time"]["extra"])
                if original is not None
                else minute_at(action.at_s)
            )
            if action.value != "keep" and original is not None:
                rows.remove(original)
            var = Action(
                action.at_s,
                "var",
                goal.side,
                goal.player,
                detail=action.detail or "Goal Disallowed - offside",
            )
            row = _event_row(match, var, minute)
            rows.append((var, row))
        elif (
            action.kind == "backfill_name" and action.player and (target := _target(match, action))
        ):
            for act, row in rows:
                if act is target:
                    row["player"]["name"] = action.player.name
        elif action.kind == "duplicate" and (target := _target(match, action)) is not None:
            # The same card filed twice a minute apart (§5 duplicates).
            filed = next((r for a, r in rows if a is target), None)
            if filed is not None:
                copy = {
                    **filed,
                    "time": {**filed["time"], "elapsed": filed["time"]["elapsed"] + 1},
                }
                rows.append((action, copy))
    live_clock = short in ("1H", "2H", "ET")
    elapsed: int | None
    extra: int | None
    if live_clock:
        elapsed, extra = minute_at(now - match.kickoff)
    elif short in ("HT",):
        elapsed, extra = 45, None
    elif short in ("BT", "P", "AET", "PEN"):
        elapsed, extra = (105 if short == "BT" else 120), None
    elif short == "FT":
        elapsed, extra = 90, None
    else:
        elapsed, extra = None, None
    has_score = started and short not in ("PST", "CANC")
    home_goals, away_goals = (goals[0], goals[1]) if has_score else (None, None)
    if ht is None and short == "1H":
        ht = list(goals)  # halftime mirrors the running score during the first half
    winner: tuple[bool | None, bool | None] = (None, None)
    if has_score and (home_goals != away_goals or short == "PEN"):
        home_ahead = (pens[0] > pens[1]) if short in ("PEN", "P") else goals[0] > goals[1]
        if short != "P" or kicks:
            winner = (home_ahead, not home_ahead)
    finished = short in ("FT", "AET", "PEN")
    went_et = ft is not None and short in ("ET", "BT", "P", "AET", "PEN")
    item: dict[str, Any] = {
        "fixture": {
            "id": match.match_id,
            "referee": match.referee,
            "timezone": "UTC",
            "date": _iso(match.kickoff),
            "timestamp": int(match.kickoff),
            "periods": periods,
            "venue": {"id": None, "name": match.venue, "city": None},
            "status": {
                "long": _LONG.get(short, short),
                "short": short,
                "elapsed": elapsed,
                "extra": extra,
            },
        },
        "league": {
            "id": match.league.id,
            "name": match.league.name,
            "country": match.league.country,
            "logo": f"https://media.api-sports.io/football/leagues/{match.league.id}.png",
            "flag": None,
            "season": match.league.season,
            "round": "Regular Season - 7",
            "standings": True,
        },
        "teams": {
            "home": _team(match.home.id, match.home.name, winner[0]),
            "away": _team(match.away.id, match.away.name, winner[1]),
        },
        "goals": _pair(home_goals, away_goals),
        "score": {
            "halftime": _pair(ht[0], ht[1]) if has_score and ht else _pair(None, None),
            "fulltime": _pair(*ft) if (finished or went_et) and ft else _pair(None, None),
            "extratime": _pair(*et_goals) if went_et else _pair(None, None),
            "penalty": _pair(*pens) if short in ("P", "PEN") else _pair(None, None),
        },
    }
    if events or with_details:
        item["events"] = [row for _, row in rows]
        if shuffle is not None:  # the array is not strictly ordered upstream (§5)
            shuffle.shuffle(item["events"])
    if with_details:
        item["lineups"] = []
        item["statistics"] = []
        item["players"] = []
    return item


def _target(match: ScriptedMatch, action: Action) -> Action | None:
    return match.tagged(action.ref) if action.ref is not None else None


def _team(team_id: int, name: str, winner: bool | None) -> dict[str, Any]:
    logo = f"https://media.api-sports.io/football/teams/{team_id}.png"
    return {"id": team_id, "name": name, "logo": logo, "winner": winner}


def _iso(unix_s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(unix_s), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
