from __future__ import annotations

from poller.detect import (
    Change,
    EventOccurred,
    MatchState,
    MatchUpdated,
    StatusChanged,
    derive_event_id,
    detect,
)
from poller.model import EventType, Match, StatusBucket
from tests.poller.conftest import sample
from tests.poller.factories import event, football, from_raw


def run(states: list[Match]) -> list[list[Change]]:
    state: MatchState | None = None
    out = []
    for match in states:
        changes, state = detect(state, match)
        out.append(changes)
    return out


def events_of(changes: list[Change]) -> list[EventOccurred]:
    return [c for c in changes if isinstance(c, EventOccurred)]


def test_first_sight_publishes_state_and_in_play_events() -> None:
    changes, state = detect(None, football(events=(event(),)))
    assert isinstance(changes[0], MatchUpdated) and changes[0].previous is None
    assert len(events_of(changes)) == 1
    assert state.seen_ids


def test_first_sight_of_finished_match_does_not_replay_history() -> None:
    changes, _ = detect(None, football(short="FT", events=(event(),)))
    assert [type(c) for c in changes] == [MatchUpdated]


def test_identical_polls_produce_nothing() -> None:
    m = football(score=(1, 0), events=(event(),))
    assert run([m, m, m])[1:] == [[], []]


def test_duplicated_and_reordered_rows_give_one_event_each() -> None:
    goal, card = event(elapsed=10), event("Card", "Yellow Card", elapsed=20)
    first = football(events=(goal,))
    resent = football(events=(card, goal, goal))
    second_card_filed_twice = football(
        events=(goal, card, event("Card", "Yellow Card", elapsed=21))
    )
    out = run([first, resent, second_card_filed_twice])
    assert [e.event.event_type for e in events_of(out[1])] == [EventType.CARD]
    assert events_of(out[2]) == []


def test_backfilled_name_keeps_the_id_and_is_not_resent() -> None:
    snaps = [
        from_raw(s["response_body"]["response"][0])
        for s in sample("football-var-sequence.json")["snapshots"]
    ]
    out = run(snaps)
    assert events_of(out[3]) == []
    assert [c for c in out[3] if isinstance(c, MatchUpdated)]  # clock moved


def test_var_sequence_emits_goal_then_var_and_lowered_score() -> None:
    snaps = [
        from_raw(s["response_body"]["response"][0])
        for s in sample("football-var-sequence.json")["snapshots"]
    ]
    out = run(snaps)
    assert [e.event.event_type for e in events_of(out[1])] == [EventType.GOAL]
    updates = [c for c in out[2] if isinstance(c, MatchUpdated)]
    assert updates and updates[0].match.score == (1, 0)
    assert updates[0].previous is not None and updates[0].previous.score == (2, 0)
    var = events_of(out[2])
    assert [e.event.event_type for e in var] == [EventType.VAR]
    assert var[0].event.detail == "Goal Disallowed - offside"


def test_score_decrease_without_var_row_gets_a_correction_event() -> None:
    goal = event(elapsed=30)
    out = run([football(score=(1, 0), events=(goal,)), football(score=(0, 0))])
    corrections = events_of(out[1])
    assert len(corrections) == 1 and corrections[0].event.detail == "Score corrected"
    assert corrections[0].event.event_type is EventType.VAR


def test_rewritten_minute_and_reclassified_goal_keep_their_id() -> None:
    original = event(elapsed=30)
    moved = event(elapsed=31)
    own_goal = event("Goal", "Own Goal", elapsed=31)
    out = run(
        [football(events=(original,)), football(events=(moved,)), football(events=(own_goal,))]
    )
    assert events_of(out[1]) == [] and events_of(out[2]) == []


def test_a_removed_row_that_comes_back_is_not_sent_twice() -> None:
    card = event("Card", "Yellow Card", elapsed=20)
    out = run([football(events=(card,)), football(), football(events=(card,))])
    assert events_of(out[2]) == []


def test_status_changes_emit_status_and_one_period_event_each() -> None:
    out = run(
        [
            football(short="NS", score=(None, None), elapsed=None),
            football(short="1H", elapsed=1),
            football(short="HT", elapsed=45),
            football(short="HT", elapsed=45),
            football(short="2H", elapsed=46),
            football(short="FT", elapsed=90),
        ]
    )
    statuses = [
        (c.previous_status, c.match.status) for o in out for c in o if isinstance(c, StatusChanged)
    ]
    assert statuses == [
        (StatusBucket.SCHEDULED, StatusBucket.LIVE),
        (StatusBucket.LIVE, StatusBucket.BREAK),
        (StatusBucket.BREAK, StatusBucket.LIVE),
        (StatusBucket.LIVE, StatusBucket.FINISHED),
    ]
    periods = [e.event.detail for o in out for e in events_of(o)]
    assert periods == ["1H", "HT", "2H", "FT"]
    assert isinstance(out[1][0], StatusChanged)  # status first


def test_unknown_status_keeps_last_known_state_and_null_score_is_not_zero() -> None:
    live = football(short="2H", score=(2, 1), elapsed=70)
    weird = football(short="XYZ", score=(None, None), elapsed=71)
    changes, state = detect(detect(None, live)[1], weird)
    assert not [c for c in changes if isinstance(c, StatusChanged)]
    assert state.match.status is StatusBucket.LIVE and state.match.score == (2, 1)


def test_derived_ids_are_stable_and_js_safe() -> None:
    a = derive_event_id("football", 1, "goal|1|10|None|5|normal goal")
    assert a == derive_event_id("football", 1, "goal|1|10|None|5|normal goal")
    assert a != derive_event_id("football", 2, "goal|1|10|None|5|normal goal")
    assert 0 <= a < 2**53


def test_state_survives_a_restart_through_seen_ids() -> None:
    goal = event(elapsed=10)
    _, state = detect(None, football(events=(goal,)))
    restarted = MatchState(state.match, state.seen_ids)
    changes, _ = detect(restarted, football(events=(goal, event(elapsed=40, player=9))))
    assert len(events_of(changes)) == 1
