"""Change detection: previous state + newly polled Match → the changes subscribers must see.

Rules (upstream reference §5 and §7.5; event schema):

* scores are not monotonic: any change of (home, away), decreases included, is a ``match.update``;
  a decrease with no new VAR row in the same poll also yields a synthetic correction event;
* ``match.status`` is emitted when the status *bucket* changes; an unknown status code keeps the
  last known bucket (the code list can grow);
* the upstream gives events no ids and may reorder, duplicate, rewrite (backfilled names, shifted
  minutes) or remove them. Each row gets a derived id from its content key; a row whose key is new
  but which matches a vanished row of the same player/minute keeps the old id (a rewrite, not a
  new event); every id ever emitted is remembered, so a row that comes back is not sent twice;
* period changes (kick-off, half time, full time…) are events too, one per status code.

Pure: no I/O, no clock reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from poller.model import EventType, Match, MatchEvent, StatusBucket

__all__ = [
    "Change",
    "EventOccurred",
    "MatchState",
    "MatchUpdated",
    "StatusChanged",
    "derive_event_id",
    "detect",
]

_GOAL_FAMILY = {EventType.GOAL, EventType.MISSED_PENALTY}


@dataclass(frozen=True, slots=True)
class MatchState:
    """What detection remembers about one match between polls (and across restarts)."""

    match: Match
    seen_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class MatchUpdated:
    match: Match
    previous: Match | None


@dataclass(frozen=True, slots=True)
class StatusChanged:
    match: Match
    previous_status: StatusBucket


@dataclass(frozen=True, slots=True)
class EventOccurred:
    match: Match
    event: MatchEvent


Change = MatchUpdated | StatusChanged | EventOccurred


def derive_event_id(sport: str, match_id: int, key: str) -> int:
    """A 48-bit id (safe as a JavaScript number) that depends only on the event's content."""
    digest = hashlib.blake2b(f"{sport}:{match_id}:{key}".encode(), digest_size=6).digest()
    return int.from_bytes(digest, "big")


def _family(event_type: EventType) -> frozenset[EventType]:
    return frozenset(_GOAL_FAMILY) if event_type in _GOAL_FAMILY else frozenset({event_type})


def _is_rewrite(old: MatchEvent, new: MatchEvent) -> bool:
    """Same real event, edited upstream: same team and kind, and same player or same minute."""
    if old.team_id != new.team_id or new.event_type not in _family(old.event_type):
        return False
    if old.player_id is not None and old.player_id == new.player_id:
        return abs((old.elapsed or 0) - (new.elapsed or 0)) <= 2
    return (old.elapsed, old.extra) == (new.elapsed, new.extra)


def _is_duplicate(kept: MatchEvent, row: MatchEvent) -> bool:
    """A re-sent row: same key, or a card filed twice a minute apart (§5 duplicates)."""
    if kept.key == row.key:
        return True
    return (
        row.event_type is EventType.CARD
        and kept.event_type is EventType.CARD
        and (kept.team_id, kept.player_id, kept.player_name, kept.detail)
        == (row.team_id, row.player_id, row.player_name, row.detail)
        and abs((kept.elapsed or 0) - (row.elapsed or 0)) <= 1
    )


def _dedupe(rows: tuple[MatchEvent, ...]) -> list[MatchEvent]:
    kept: list[MatchEvent] = []
    for row in sorted(rows, key=lambda e: e.sort_key):
        if not any(_is_duplicate(k, row) for k in kept):
            kept.append(row)
    return kept


def _assign_ids(match: Match, previous: Match | None) -> tuple[list[MatchEvent], set[int]]:
    """Current rows with ids; and the ids that are new in this poll (candidates to emit)."""
    old_rows = list(previous.events) if previous is not None else []
    old_by_key = {e.key: e for e in old_rows}
    rows = _dedupe(match.events)
    current_keys = {e.key for e in rows}
    vanished = [e for e in old_rows if e.key not in current_keys]
    result: list[MatchEvent] = []
    fresh: set[int] = set()
    for row in rows:
        old = old_by_key.get(row.key)
        if old is None:
            old = next((v for v in vanished if _is_rewrite(v, row)), None)
            if old is not None:
                vanished.remove(old)
        if old is not None:
            result.append(replace(row, event_id=old.event_id))
            continue
        event_id = derive_event_id(match.sport, match.match_id, row.key)
        result.append(replace(row, event_id=event_id))
        fresh.add(event_id)
    return result, fresh


def _synthetic_event(
    match: Match, key: str, event_type: EventType, detail: str, comments: str | None
) -> MatchEvent:
    """An event the upstream did not list but the change implies, under a stable derived id."""
    return MatchEvent(
        key=key,
        event_type=event_type,
        team_id=None,
        player_id=None,
        player_name=None,
        assist_name=None,
        elapsed=match.elapsed,
        extra=None,
        detail=detail,
        comments=comments,
        event_id=derive_event_id(match.sport, match.match_id, key),
    )


def _period_event(match: Match) -> MatchEvent:
    key = f"period|{match.status_short}"
    return _synthetic_event(match, key, EventType.PERIOD, match.status_short, match.period)


def _correction_event(match: Match, previous: Match) -> MatchEvent:
    old, new = previous.score, match.score
    key = f"correction|{old[0]}-{old[1]}|{new[0]}-{new[1]}"
    return _synthetic_event(match, key, EventType.VAR, "Score corrected", None)


def _decreased(old: int | None, new: int | None) -> bool:
    return old is not None and new is not None and new < old


def _stabilise(current: Match, previous: Match | None) -> Match:
    """Keep the last known status for unknown codes, and never invent a score from a null."""
    if previous is None:
        return current
    if current.status is StatusBucket.UNKNOWN:
        current = replace(
            current,
            status=previous.status,
            status_short=previous.status_short,
            period=previous.period,
        )
    if current.status.is_in_play or current.status is StatusBucket.FINISHED:
        if current.home.score is None and previous.home.score is not None:
            current = replace(current, home=replace(current.home, score=previous.home.score))
        if current.away.score is None and previous.away.score is not None:
            current = replace(current, away=replace(current.away, score=previous.away.score))
    return current


def detect(state: MatchState | None, polled: Match) -> tuple[list[Change], MatchState]:
    """The changes from ``state`` to ``polled``, in the order subscribers should get them.

    Order: ``match.status`` first, then ``match.update``, then ``match.event`` rows in match time.
    Returns the new state to store once the changes are published.
    """
    previous = state.match if state is not None else None
    seen = set(state.seen_ids) if state is not None else set()
    current = _stabilise(polled, previous)
    rows, fresh = _assign_ids(current, previous)
    current = replace(current, events=tuple(rows))
    changes: list[Change] = []
    emitted: list[MatchEvent] = []
    # First sight of a match that is not in play: its old rows are history, not news.
    is_news = previous is not None or current.status.is_in_play
    if is_news:
        emitted = [e for e in rows if e.event_id in fresh and e.event_id not in seen]
    if previous is not None and current.status_short != previous.status_short:
        period = _period_event(current)
        if period.event_id not in seen:
            emitted.append(period)
    if previous is not None and (
        _decreased(previous.home.score, current.home.score)
        or _decreased(previous.away.score, current.away.score)
    ):
        if not any(e.event_type is EventType.VAR for e in emitted):
            correction = _correction_event(current, previous)
            if correction.event_id not in seen:
                emitted.append(correction)
    if previous is not None and previous.status is not current.status:
        changes.append(StatusChanged(current, previous.status))
    if previous is None or _visible(previous) != _visible(current):
        changes.append(MatchUpdated(current, previous))
    changes.extend(EventOccurred(current, e) for e in emitted)
    seen.update(e.event_id for e in rows)
    seen.update(e.event_id for e in emitted)
    return changes, MatchState(current, frozenset(seen))


def _visible(match: Match) -> tuple[object, ...]:
    """The fields of the compact ``match.update`` payload that can change during a match."""
    return (match.score, match.status, match.period, match.clock, match.home.name, match.away.name)
