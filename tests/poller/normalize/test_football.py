from __future__ import annotations

from typing import Any

import pytest

from poller.model import EventType, StatusBucket
from poller.normalize import NormalizeError, normalize_item
from poller.normalize.football import normalize_event, normalize_fixture
from tests.poller.conftest import sample


def test_live_all_sample_normalises_both_fixtures() -> None:
    body = sample("football-fixtures-live-all.json")
    first, second = (normalize_fixture(item) for item in body["response"])
    assert first.match_id == 990101 and first.sport == "football"
    assert first.league_id == 90010 and first.season == "2026"
    assert first.status is StatusBucket.LIVE and first.status_short == "1H"
    assert (first.home.id, first.home.name, first.home.score) == (90101, "Northbridge Rovers", 1)
    assert (first.away.id, first.away.score) == (90102, 0)
    assert first.period == "1st Half" and first.clock == "31:00" and first.elapsed == 31
    assert first.start_time == 1791036000
    assert [e.event_type for e in first.events] == [EventType.GOAL, EventType.CARD]
    assert second.period == "2nd Half" and second.score == (1, 1)
    assert [e.event_type for e in second.events] == [
        EventType.GOAL,
        EventType.VAR,
        EventType.CARD,
        EventType.GOAL,
        EventType.SUBSTITUTION,
        EventType.CARD,
    ]
    assert second.events[2].time == "47:00"  # 45+2


def test_finished_pen_fixture_keeps_shootout_out_of_goals() -> None:
    match = normalize_fixture(sample("football-fixture-by-id.json")["response"][0])
    assert match.status is StatusBucket.FINISHED and match.status_short == "PEN"
    assert match.score == (2, 2)
    assert match.clock is None
    assert match.details["score"]["penalty"] == {"home": 4, "away": 3}
    assert "statistics" in match.details and "lineups" in match.details
    shootout = [e for e in match.events if e.comments == "Penalty Shootout"]
    assert len(shootout) == 10 and shootout[0].time == "120:00"
    assert sum(e.event_type is EventType.MISSED_PENALTY for e in match.events) == 4


@pytest.mark.parametrize(
    ("index", "short", "bucket", "score"),
    [
        (0, "FT", StatusBucket.FINISHED, (3, 1)),
        (1, "AET", StatusBucket.FINISHED, (2, 3)),
        (2, "LIVE", StatusBucket.LIVE, (0, 0)),
        (3, "PST", StatusBucket.POSTPONED, (None, None)),
        (4, "CANC", StatusBucket.CANCELLED, (None, None)),
        (5, "NS", StatusBucket.SCHEDULED, (None, None)),
    ],
)
def test_date_sample_statuses_and_nullable_scores(
    index: int, short: str, bucket: StatusBucket, score: tuple[int | None, int | None]
) -> None:
    item = sample("football-fixtures-date-statuses.json")["response"][index]
    match = normalize_fixture(item)
    assert (match.status_short, match.status, match.score) == (short, bucket, score)


def test_event_key_ignores_backfilled_name_when_player_id_known() -> None:
    snaps = sample("football-var-sequence.json")["snapshots"]
    before = snaps[0]["response_body"]["response"][0]["events"][0]
    after = snaps[3]["response_body"]["response"][0]["events"][0]
    assert before["player"]["name"] != after["player"]["name"]
    assert normalize_event(before).key == normalize_event(after).key


def test_event_key_uses_name_when_no_player_id() -> None:
    raw: dict[str, Any] = {
        "time": {"elapsed": 10, "extra": None},
        "team": {"id": 1},
        "player": {"id": None, "name": "A. Name"},
        "assist": {"id": None, "name": None},
        "type": "Card",
        "detail": "Yellow Card",
        "comments": None,
    }
    assert "a. name" in normalize_event(raw).key


@pytest.mark.parametrize(
    "item",
    [
        {},
        {"fixture": {"id": "x"}},
        {"fixture": {"id": 1}, "league": {"id": 2}},
        {"fixture": {"id": 1}, "league": {"id": 2}, "teams": {"home": {}, "away": {"id": 3}}},
    ],
)
def test_malformed_items_raise_normalize_error(item: dict[str, Any]) -> None:
    with pytest.raises(NormalizeError):
        normalize_fixture(item)


def test_dispatch_rejects_unknown_sport_and_non_objects() -> None:
    with pytest.raises(NormalizeError):
        normalize_item("curling", {})
    with pytest.raises(NormalizeError):
        normalize_item("football", [])
