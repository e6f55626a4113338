from __future__ import annotations

import random

from poller.detect import EventOccurred, MatchState, MatchUpdated, StatusChanged, detect
from poller.model import EventType, StatusBucket
from poller.normalize.football import normalize_fixture
from poller.simulator.demo import LEAGUES, football_match
from poller.simulator.football import fixture_json
from poller.simulator.scenario import Side

KO = 1_791_036_000.0


def walk(match_kwargs: dict[str, bool], step_s: float = 15.0) -> list[object]:
    match = football_match(
        random.Random(3), 1, LEAGUES["football"], Side(1, "A"), Side(2, "B"), KO, **match_kwargs
    )
    state: MatchState | None = None
    changes: list[object] = []
    t = KO - 3600
    while t < KO + 160 * 60:
        item = fixture_json(match, t, events=True, with_details=False)
        found, state = detect(state, normalize_fixture(item))
        changes.extend(found)
        t += step_s
    return changes


def test_full_lifecycle_statuses_in_order() -> None:
    changes = walk({})
    statuses = [
        (c.previous_status, c.match.status) for c in changes if isinstance(c, StatusChanged)
    ]
    s = StatusBucket
    assert statuses == [
        (s.SCHEDULED, s.LIVE),
        (s.LIVE, s.BREAK),
        (s.BREAK, s.LIVE),
        (s.LIVE, s.FINISHED),
    ]


def test_var_disallowed_goal_lowers_the_score_and_is_one_var_event() -> None:
    changes = walk({"has_var": True})
    events = [c.event for c in changes if isinstance(c, EventOccurred)]
    assert sum(e.event_type is EventType.VAR for e in events) == 1
    scores = [c.match.score for c in changes if isinstance(c, MatchUpdated)]
    lowered = [
        (a, b)
        for a, b in zip(scores, scores[1:], strict=False)
        if a[0] is not None and b[0] is not None and b[0] < a[0]
    ]
    assert len(lowered) == 1
    # The backfilled scorer name does not produce a second goal event.
    marsh = [e for e in events if e.player_name and "Marsh" in e.player_name]
    assert len(marsh) == 1


def test_extra_time_and_penalties_finish_pen_with_shootout_outside_goals() -> None:
    changes = walk({"has_extra_time": True})
    last = [c for c in changes if isinstance(c, MatchUpdated)][-1].match
    assert last.status_short == "PEN" and last.score == (1, 1)
    assert last.details["score"]["penalty"] == {"home": 5, "away": 4}
    assert last.details["score"]["extratime"] == {"home": 0, "away": 0}
    periods = [
        c.event.detail
        for c in changes
        if isinstance(c, EventOccurred) and c.event.event_type is EventType.PERIOD
    ]
    # One period event per status code: the second ET half does not repeat "ET".
    assert periods == ["1H", "HT", "2H", "ET", "BT", "P", "PEN"]
    kicks = [
        c
        for c in changes
        if isinstance(c, EventOccurred) and c.event.comments == "Penalty Shootout"
    ]
    assert len(kicks) == 10


def test_postponed_match_reports_pst_with_null_scores() -> None:
    match = football_match(
        random.Random(1), 2, LEAGUES["football"], Side(1, "A"), Side(2, "B"), KO, is_postponed=True
    )
    item = fixture_json(match, KO, events=False, with_details=False)
    assert item["fixture"]["status"]["short"] == "PST" and item["goals"]["home"] is None


def test_first_half_mirrors_halftime_score_and_winner_flags() -> None:
    match = football_match(
        random.Random(1), 3, LEAGUES["football"], Side(1, "A"), Side(2, "B"), KO, has_var=True
    )
    item = fixture_json(match, KO + 20 * 60, events=True, with_details=False)
    assert item["score"]["halftime"] == item["goals"]
    assert item["teams"]["home"]["winner"] is True and item["teams"]["away"]["winner"] is False
