"""The event-schema payloads, field for field (``event-schema.md``: match.update/event/status).

Compact payloads go to public channels. Rich payloads (private/presence match channels) are the
compact keys plus extras under extra keys; a rich payload that would pass the server's message
size limit is trimmed to its newest parts and says so with ``"truncated": true``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from poller.model import EventType, Match, MatchEvent, StatusBucket

__all__ = [
    "describe",
    "event_payload",
    "fit_rich",
    "iso_z",
    "rich_event_payload",
    "rich_update_payload",
    "status_payload",
    "update_payload",
]

_PERIOD_TEXT = {
    "1H": "Kick-off",
    "HT": "Half time",
    "2H": "Second half started",
    "ET": "Extra time started",
    "BT": "Break",
    "P": "Penalty shoot-out started",
    "FT": "Full time",
    "AET": "Full time after extra time",
    "PEN": "Full time after penalties",
    "AOT": "Full time after overtime",
    "PST": "Match postponed",
    "POST": "Match postponed",
    "CANC": "Match cancelled",
    "ABD": "Match abandoned",
    "SUSP": "Match suspended",
    "INT": "Match interrupted",
    "INTR": "Match interrupted",
    "NS": "Rescheduled",
}


def iso_z(unix_s: float) -> str:
    """ISO 8601 UTC with ``Z``, second precision (event schema: all timestamps)."""
    return datetime.fromtimestamp(int(unix_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(event: MatchEvent) -> str:
    """A human sentence for ``description``; upstream detail strings are not for end users."""
    shootout = event.comments == "Penalty Shootout"
    match event.event_type:
        case EventType.GOAL:
            if shootout:
                return "Penalty shoot-out: scored"
            return {
                "Penalty": "Goal from penalty kick",
                "Own Goal": "Own goal",
            }.get(event.detail, "Goal")
        case EventType.MISSED_PENALTY:
            return "Penalty shoot-out: missed" if shootout else "Missed penalty"
        case EventType.CARD:
            return f"{event.detail}: {event.comments}" if event.comments else event.detail
        case EventType.SUBSTITUTION:
            if event.assist_name and event.player_name:
                return f"Substitution: {event.assist_name} on for {event.player_name}"
            return "Substitution"
        case EventType.PERIOD:
            if event.detail.startswith("Q") or event.detail.startswith("IN"):
                return f"{event.comments} started" if event.comments else event.detail
            return _PERIOD_TEXT.get(event.detail, event.comments or event.detail)
        case _:
            return event.detail


def _team(match: Match, side: str) -> dict[str, Any]:
    team = match.home if side == "home" else match.away
    return {"id": team.id, "name": team.name, "score": team.score}


def update_payload(match: Match, league: str, now: float) -> dict[str, Any]:
    return {
        "match_id": match.match_id,
        "sport_id": match.sport,
        "league_id": league,
        "status": match.status.value,
        "home_team": _team(match, "home"),
        "away_team": _team(match, "away"),
        "period": match.period,
        "time": match.clock,
        "last_updated": iso_z(now),
    }


def event_payload(match: Match, event: MatchEvent, now: float) -> dict[str, Any]:
    return {
        "match_id": match.match_id,
        "event_id": event.event_id,
        "event_type": event.event_type.value,
        "team_id": event.team_id,
        "player_name": event.player_name,
        "time": event.time,
        "description": describe(event),
        "home_score": match.home.score,
        "away_score": match.away.score,
        "timestamp": iso_z(now),
    }


def status_payload(match: Match, previous: StatusBucket, now: float) -> dict[str, Any]:
    return {
        "match_id": match.match_id,
        "previous_status": previous.value,
        "new_status": match.status.value,
        "timestamp": iso_z(now),
    }


def _rich_extras(match: Match) -> dict[str, Any]:
    extras: dict[str, Any] = {
        "status_short": match.status_short,
        "elapsed": match.elapsed,
        "league_name": match.league_name,
        "start_time": iso_z(match.start_time) if match.start_time else None,
    }
    for key, value in match.details.items():
        if key not in extras and value is not None:
            extras[key] = value
    return extras


def _event_row(event: MatchEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_type": event.event_type.value,
        "team_id": event.team_id,
        "player_name": event.player_name,
        "assist_name": event.assist_name,
        "time": event.time,
        "detail": event.detail,
        "comments": event.comments,
        "description": describe(event),
    }


def rich_update_payload(
    match: Match, previous: Match | None, league: str, now: float
) -> dict[str, Any]:
    payload = update_payload(match, league, now) | _rich_extras(match)
    payload["events"] = [_event_row(e) for e in sorted(match.events, key=lambda e: e.sort_key)]
    if previous is not None:
        payload["previous_score"] = {"home": previous.home.score, "away": previous.away.score}
    return payload


def rich_event_payload(match: Match, event: MatchEvent, now: float) -> dict[str, Any]:
    payload = event_payload(match, event, now)
    payload.update(
        assist_name=event.assist_name,
        detail=event.detail,
        comments=event.comments,
        player_id=event.player_id,
        status_short=match.status_short,
        elapsed=match.elapsed,
    )
    return payload


_COMPACT_KEYS = frozenset(
    {
        "match_id",
        "sport_id",
        "league_id",
        "status",
        "home_team",
        "away_team",
        "period",
        "time",
        "last_updated",
        "event_id",
        "event_type",
        "team_id",
        "player_name",
        "description",
        "home_score",
        "away_score",
        "timestamp",
        "truncated",
    }
)

# Dropped first when a rich payload is too large: the bulkiest, least time-critical parts.
_DROPPABLE = ("lineups", "statistics", "score", "scores")


def fit_rich(payload: dict[str, Any], max_bytes: int) -> bytes:
    """Encode ``payload``, trimming it under ``max_bytes`` (oldest events go last-but-one)."""
    data = orjson.dumps(payload)
    if len(data) <= max_bytes:
        return data
    trimmed = dict(payload)
    trimmed["truncated"] = True
    for key in _DROPPABLE:
        if key in trimmed:
            del trimmed[key]
            data = orjson.dumps(trimmed)
            if len(data) <= max_bytes:
                return data
    events = list(trimmed.get("events", []))
    while events:
        events.pop(0)
        trimmed["events"] = events
        data = orjson.dumps(trimmed)
        if len(data) <= max_bytes:
            return data
    return orjson.dumps({k: v for k, v in trimmed.items() if k in _COMPACT_KEYS})
