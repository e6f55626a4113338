from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from poller.detect import detect
from poller.model import StatusBucket
from poller.payloads import (
    describe,
    event_payload,
    fit_rich,
    iso_z,
    rich_update_payload,
    status_payload,
    update_payload,
)
from tests.poller.factories import event, football

NOW = 1_747_186_500.0  # 2025-05-14T01:35:00Z, the schema's example time

# The event schema's examples, key for key and type for type.
UPDATE_SCHEMA: dict[str, Any] = {
    "match_id": int,
    "sport_id": str,
    "league_id": str,
    "status": str,
    "home_team": dict,
    "away_team": dict,
    "period": str,
    "time": str,
    "last_updated": str,
}
EVENT_SCHEMA: dict[str, Any] = {
    "match_id": int,
    "event_id": int,
    "event_type": str,
    "team_id": int,
    "player_name": str,
    "time": str,
    "description": str,
    "home_score": int,
    "away_score": int,
    "timestamp": str,
}
STATUS_SCHEMA: dict[str, Any] = {
    "match_id": int,
    "previous_status": str,
    "new_status": str,
    "timestamp": str,
}


def check(payload: dict[str, Any], schema: dict[str, Any]) -> None:
    assert list(payload) == list(schema)
    for key, kind in schema.items():
        assert isinstance(payload[key], kind), key


def test_match_update_matches_schema_field_for_field() -> None:
    match = football(short="2H", score=(2, 1), elapsed=75)
    payload = update_payload(match, "premier-league", NOW)
    check(payload, UPDATE_SCHEMA)
    assert payload == {
        "match_id": 7,
        "sport_id": "football",
        "league_id": "premier-league",
        "status": "live",
        "home_team": {"id": 101, "name": "Team A", "score": 2},
        "away_team": {"id": 102, "name": "Team B", "score": 1},
        "period": "2nd Half",
        "time": "75:00",
        "last_updated": "2025-05-14T01:35:00Z",
    }


def test_match_update_before_kickoff_has_null_scores() -> None:
    payload = update_payload(football(short="NS", score=(None, None), elapsed=None), "x", NOW)
    assert payload["home_team"]["score"] is None and payload["status"] == "scheduled"


def test_match_event_matches_schema_field_for_field() -> None:
    goal = replace(event("Goal", "Penalty", name="John Smith", elapsed=74), event_id=67890)
    payload = event_payload(football(score=(2, 1), elapsed=75), goal, NOW)
    check(payload, EVENT_SCHEMA)
    assert payload["description"] == "Goal from penalty kick"
    assert payload["time"] == "74:00" and payload["event_type"] == "goal"
    assert (payload["home_score"], payload["away_score"]) == (2, 1)


def test_match_status_matches_schema_field_for_field() -> None:
    payload = status_payload(football(), StatusBucket.SCHEDULED, NOW)
    check(payload, STATUS_SCHEMA)
    assert payload["previous_status"] == "scheduled" and payload["new_status"] == "live"


def test_iso_z_is_utc_with_z() -> None:
    assert iso_z(0) == "1970-01-01T00:00:00Z"


def test_descriptions() -> None:
    assert describe(event("subst", "Substitution 1", name="Off", assist="On")) == (
        "Substitution: On on for Off"
    )
    assert describe(event("Card", "Red Card", comments="Foul")) == "Red Card: Foul"
    assert describe(event("Goal", "Missed Penalty", comments="Penalty Shootout")) == (
        "Penalty shoot-out: missed"
    )
    assert describe(event("Goal", "Own Goal")) == "Own goal"
    assert describe(event("Var", "Goal Disallowed - offside")) == "Goal Disallowed - offside"


def test_rich_update_keeps_compact_keys_and_adds_extras() -> None:
    _, state = detect(None, football(score=(1, 0), events=(event(),)))
    rich = rich_update_payload(state.match, football(), "premier-league", NOW)
    assert {k: rich[k] for k in UPDATE_SCHEMA} == update_payload(state.match, "premier-league", NOW)
    assert rich["status_short"] == "1H" and len(rich["events"]) == 1
    assert rich["previous_score"] == {"home": 0, "away": 0}


def test_oversized_rich_payload_is_trimmed_to_newest_parts_and_says_so() -> None:
    many = tuple(
        event("Card", "Yellow Card", player=i, elapsed=i % 90, comments="x" * 200)
        for i in range(100)
    )
    _, state = detect(None, football(events=many))
    match = replace(state.match, details={"statistics": ["y" * 5000]})
    data = fit_rich(rich_update_payload(match, None, "l", NOW), 9_500)
    assert len(data) <= 9_500
    decoded = orjson.loads(data)
    assert decoded["truncated"] is True and "statistics" not in decoded
    assert 0 < len(decoded["events"]) < 100
    assert decoded["events"][-1]["time"] == "89:00"


def test_small_rich_payload_is_untouched() -> None:
    payload = {"match_id": 1}
    assert fit_rich(payload, 100) == b'{"match_id":1}'
