"""Stored rows → the event-schema payloads, field for field (``event-schema.md``).

A match is the compact ``match.update`` payload plus ``start_time`` (an extra key, as the
schema's payload tiers allow), so a client seeds its state from the API and then applies
``match.update`` / ``match.event`` / ``match.status`` without translation; timeline entries are
``match.event`` payloads with the ``event_id`` the WebSocket carried.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["event_from_row", "iso_z", "league_from_row", "match_from_row"]


def iso_z(unix_s: float) -> str:
    """ISO 8601 UTC with ``Z``, second precision (event schema: all timestamps)."""
    return datetime.fromtimestamp(int(unix_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def match_from_row(row: Any) -> dict[str, Any]:
    return {
        "match_id": row.match_id,
        "sport_id": row.sport,
        "league_id": row.league_slug,
        "status": row.status,
        "home_team": {"id": row.home_team_id, "name": row.home_team_name, "score": row.home_score},
        "away_team": {"id": row.away_team_id, "name": row.away_team_name, "score": row.away_score},
        "period": row.period,
        "time": row.clock,
        "last_updated": iso_z(row.updated_at),
        "start_time": iso_z(row.start_time),
    }


def event_from_row(row: Any) -> dict[str, Any]:
    return {
        "match_id": row.match_id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "team_id": row.team_id,
        "player_name": row.player_name,
        "time": row.time,
        "description": row.description,
        "home_score": row.home_score,
        "away_score": row.away_score,
        "timestamp": iso_z(row.timestamp),
    }


def league_from_row(row: Any) -> dict[str, Any]:
    return {
        "league_id": row.slug,
        "sport_id": row.sport,
        "name": row.name,
        "season": row.season,
        "upstream_id": row.league_id,
        "last_updated": iso_z(row.updated_at),
    }
