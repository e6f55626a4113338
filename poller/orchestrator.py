"""The request orchestrator's maths: one priority order for every upstream call, sans-I/O.

Every call a sport's loop makes is one of four priorities, ``LIVE > ON_DEMAND > PREFETCH >
REFERENCE`` (issue 11 item 3). Live polls and final-state fetches keep today's cadence
(:mod:`poller.plan`); the others may only use what that plan leaves: a token beyond the one the
next live poll needs, a closed breaker, quota above the live plan's demand, and never a call
when the next live poll is close. :func:`admits` is that rule, a pure function of the numbers the
loop already has.

Identical requests coalesce: :class:`CallQueue` keeps one entry per request key (here a match
id wanted by id) at the highest priority any asker gave it, so an on-demand read and a kick-off
prefetch of the same fixture are one upstream call, and :func:`take` batches the entries of the
best priority into one ``ids=`` call. A fixture escalates as kick-off nears
(:func:`fixture_priority`): reference-level while far off, prefetched at 2 h, 1 h and 30 min
before it (:func:`prefetch_stage`), and live once the live plan's pre-start window opens — from
then on the live plan's own pre-start polls own it, so no by-id fetch ever counts as live work.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "KIND_PRIORITY",
    "PREFETCH_OFFSETS_S",
    "CallQueue",
    "Gate",
    "Priority",
    "admits",
    "fixture_priority",
    "prefetch_stage",
    "take",
]

#: Seconds before kick-off at which a fixture is fetched again (2 h, 1 h, 30 min).
PREFETCH_OFFSETS_S: tuple[float, ...] = (7_200.0, 3_600.0, 1_800.0)


class Priority(enum.IntEnum):
    """Lower value first. The label is what the cost metrics and the SQL rows carry."""

    LIVE = 0
    ON_DEMAND = 1
    PREFETCH = 2
    REFERENCE = 3

    @property
    def label(self) -> str:
        return self.name.lower()


#: The loop's own kinds of call: final states are live work, the day's fixtures a prefetch.
KIND_PRIORITY = {
    "live": Priority.LIVE,
    "detail": Priority.LIVE,
    "fixtures": Priority.PREFETCH,
    "reference": Priority.REFERENCE,
}


@dataclass(frozen=True, slots=True)
class Gate:
    """What the loop knows when it considers a call below live priority."""

    #: Calls the daily budget still allows above its reserve.
    usable: int
    #: Calls the live plan wants before the reset (:func:`poller.plan.live_demand`).
    live_demand: float
    #: Calls the bucket allows right now.
    tokens: float
    is_breaker_closed: bool
    #: Seconds until the next live poll.
    next_live_in_s: float
    #: Calls of this priority made in the current hour, and the hourly cap for it.
    made_this_hour: int = 0
    hourly_cap: int = 60
    #: Never start a low-priority call this close to a due live poll.
    min_live_gap_s: float = 5.0
    #: Calls the upstream's current minute has left beyond the live polls still due in it
    #: (``inf`` while unknown).
    minute_spare: float = math.inf


def admits(priority: Priority, gate: Gate) -> bool:
    """Whether a call of ``priority`` may go out now without costing a live poll anything.

    Live priority is governed by the live plan itself (always admitted here). The others need a
    closed breaker (a half-open probe is live work), a token beyond the one kept for live, room
    in the upstream's minute beyond the live polls due in it, the next live poll not imminent,
    quota beyond the live plan's whole demand for the day (on-demand only above it; prefetch and
    reference with a 10 % slack on top) and their hourly cap.
    """
    if priority is Priority.LIVE:
        return True
    if not gate.is_breaker_closed or gate.tokens < 2:
        return False
    if gate.next_live_in_s < gate.min_live_gap_s or gate.made_this_hour >= gate.hourly_cap:
        return False
    if gate.minute_spare < 1:
        return False  # the upstream's per-minute window is spoken for by live polls
    slack = 1.0 if priority is Priority.ON_DEMAND else 1.1
    return gate.usable - math.ceil(gate.live_demand * slack) > 0


def prefetch_stage(
    kickoff: float, now: float, offsets: tuple[float, ...] = PREFETCH_OFFSETS_S
) -> int:
    """How many of the prefetch moments before ``kickoff`` have come (0 … len(offsets)).

    A fixture whose stage went up since its last fetch is due a prefetch. After kick-off it is
    live work, so the stage stays where it was (0 for a fixture first seen already started).
    """
    if now >= kickoff:
        return 0
    return sum(1 for offset in offsets if now >= kickoff - offset)


def fixture_priority(
    kickoff: float,
    now: float,
    *,
    prestart_window_s: float,
    offsets: tuple[float, ...] = PREFETCH_OFFSETS_S,
) -> Priority:
    """A fixture's priority escalates as kick-off nears: reference → prefetch → live."""
    if now >= kickoff - prestart_window_s:
        return Priority.LIVE
    if now >= kickoff - max(offsets, default=0.0):
        return Priority.PREFETCH
    return Priority.REFERENCE


@dataclass(slots=True)
class _Entry:
    priority: Priority
    since: float


@dataclass(slots=True)
class CallQueue:
    """Wanted fetches by key, coalesced: asking again only raises an entry's priority."""

    entries: dict[int, _Entry] = field(default_factory=dict)

    def want(self, key: int, priority: Priority, now: float) -> None:
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = _Entry(priority, now)
        elif priority < entry.priority:
            entry.priority = priority

    def best(self) -> Priority | None:
        return min((e.priority for e in self.entries.values()), default=None)

    def done(self, keys: Iterable[int]) -> None:
        for key in keys:
            self.entries.pop(key, None)

    def __len__(self) -> int:
        return len(self.entries)


def take(queue: CallQueue, *, limit: int) -> tuple[Priority, list[int]] | None:
    """The keys of one upstream call: the best priority's oldest entries, then lower ones that
    fit in the same batch (an ``ids=`` call costs the same for 1 id as for ``limit``)."""
    if not queue.entries:
        return None
    ordered = sorted(queue.entries.items(), key=lambda kv: (kv[1].priority, kv[1].since, kv[0]))
    return ordered[0][1].priority, [key for key, _ in ordered[:limit]]
