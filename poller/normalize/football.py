"""API-Football v3 fixture → Match (upstream reference §3.2, §3.3, §5).

Pure: takes the raw item and returns values. Each event row gets a content key (type, team,
minute, player, detail): the upstream has no event ids (§3.3), so the key is the only identity
there is; detection turns keys into stable ids and tolerates rewrites.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poller.model import EventType, Match, MatchEvent
from poller.normalize.common import (
    NormalizeError,
    as_int,
    as_str,
    as_unix_s,
    obj,
    required_int,
    team,
)
from poller.normalize.status import classify_status

__all__ = ["normalize_event", "normalize_fixture"]

SPORT = "football"


def _event_type(raw_type: str, detail: str) -> EventType:
    if raw_type == "Goal":
        # "Missed Penalty" is filed under type Goal but is not a goal (§5).
        return EventType.MISSED_PENALTY if detail == "Missed Penalty" else EventType.GOAL
    return {
        "Card": EventType.CARD,
        "subst": EventType.SUBSTITUTION,
        "Var": EventType.VAR,
    }.get(raw_type, EventType.OTHER)


def normalize_event(raw: Mapping[str, Any]) -> MatchEvent:
    """One event row; its key ignores names when a player id exists (names get backfilled)."""
    time = obj(raw, "time")
    player = obj(raw, "player")
    assist = obj(raw, "assist")
    raw_type = as_str(raw.get("type")) or ""
    detail = as_str(raw.get("detail")) or ""
    team_id = as_int(obj(raw, "team").get("id"))
    player_id = as_int(player.get("id"))
    player_name = as_str(player.get("name"))
    elapsed = as_int(time.get("elapsed"))
    extra = as_int(time.get("extra"))
    who = str(player_id) if player_id is not None else (player_name or "").strip().lower()
    key = f"{raw_type.lower()}|{team_id}|{elapsed}|{extra}|{who}|{detail.lower()}"
    return MatchEvent(
        key=key,
        event_type=_event_type(raw_type, detail),
        team_id=team_id,
        player_id=player_id,
        player_name=player_name,
        assist_name=as_str(assist.get("name")),
        elapsed=elapsed,
        extra=extra,
        detail=detail,
        comments=as_str(raw.get("comments")),
    )


def _clock(elapsed: int | None, extra: int | None) -> str | None:
    if elapsed is None:
        return None
    return f"{elapsed + (extra or 0)}:00"


def normalize_fixture(raw: Mapping[str, Any]) -> Match:
    """A ``/fixtures`` item (``live``, ``id``, ``ids`` or ``date`` form) as a Match.

    Raises:
        NormalizeError: the item lacks a fixture id, a league id or team ids.
    """
    fixture = obj(raw, "fixture")
    status = obj(fixture, "status")
    league = obj(raw, "league")
    goals = obj(raw, "goals")
    short = as_str(status.get("short")) or ""
    info = classify_status(SPORT, short)
    elapsed = as_int(status.get("elapsed"))
    extra = as_int(status.get("extra"))
    events_raw = raw.get("events")
    events: tuple[MatchEvent, ...] = ()
    if isinstance(events_raw, list):
        events = tuple(normalize_event(e) for e in events_raw if isinstance(e, Mapping))
    details: dict[str, Any] = {
        "status_short": short,
        "elapsed": elapsed,
        "extra": extra,
        "score": raw.get("score"),
        "round": league.get("round"),
        "venue": obj(fixture, "venue").get("name"),
        "referee": fixture.get("referee"),
    }
    for rich in ("statistics", "lineups"):
        if isinstance(raw.get(rich), list) and raw[rich]:
            details[rich] = raw[rich]
    if not isinstance(raw.get("teams"), Mapping):
        raise NormalizeError("teams missing")
    return Match(
        match_id=required_int(fixture.get("id"), "fixture.id"),
        sport=SPORT,
        league_id=required_int(league.get("id"), "league.id"),
        league_name=as_str(league.get("name")) or "",
        season=as_str(league.get("season")) or "",
        status=info.bucket,
        status_short=short,
        home=team(raw["teams"], "home", as_int(goals.get("home"))),
        away=team(raw["teams"], "away", as_int(goals.get("away"))),
        period=info.period,
        clock=_clock(elapsed, extra) if info.bucket.is_in_play else None,
        elapsed=elapsed,
        start_time=as_unix_s(fixture.get("timestamp"), "fixture.timestamp") or 0,
        events=events,
        details=details,
    )
