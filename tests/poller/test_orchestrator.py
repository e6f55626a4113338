"""The orchestrator's pure maths: priorities, admission, coalescing, kick-off prefetch stages."""

from __future__ import annotations

import dataclasses
from typing import Any

from poller.orchestrator import (
    PREFETCH_OFFSETS_S,
    CallQueue,
    Gate,
    Priority,
    admits,
    fixture_priority,
    prefetch_stage,
    take,
)

KICKOFF = 100_000.0


#: A gate that admits everything; each test changes the field it is about.
OPEN_GATE = Gate(
    usable=1_000, live_demand=100.0, tokens=5.0, is_breaker_closed=True, next_live_in_s=10.0
)


def gate(**changes: Any) -> Gate:
    return dataclasses.replace(OPEN_GATE, **changes)


def test_priorities_are_ordered_live_first() -> None:
    assert Priority.LIVE < Priority.ON_DEMAND < Priority.PREFETCH < Priority.REFERENCE
    assert Priority.ON_DEMAND.label == "on_demand"


def test_live_is_always_admitted_and_the_others_only_with_room() -> None:
    assert admits(Priority.LIVE, gate(tokens=0, is_breaker_closed=False, usable=0))
    assert admits(Priority.ON_DEMAND, gate())
    assert not admits(Priority.ON_DEMAND, gate(tokens=1.5))  # the last token is live's
    assert not admits(Priority.ON_DEMAND, gate(is_breaker_closed=False))
    assert not admits(Priority.ON_DEMAND, gate(next_live_in_s=2.0))
    assert not admits(Priority.ON_DEMAND, gate(made_this_hour=60, hourly_cap=60))
    # Quota beyond the live plan's whole demand: on-demand exactly above, the rest with slack.
    assert admits(Priority.ON_DEMAND, gate(usable=101, live_demand=100.0))
    assert not admits(Priority.ON_DEMAND, gate(usable=100, live_demand=100.0))
    assert not admits(Priority.PREFETCH, gate(usable=110, live_demand=100.0))
    assert admits(Priority.PREFETCH, gate(usable=112, live_demand=100.0))


def test_prefetch_stages_come_at_two_hours_one_hour_and_thirty_minutes() -> None:
    assert PREFETCH_OFFSETS_S == (7_200.0, 3_600.0, 1_800.0)
    assert prefetch_stage(KICKOFF, KICKOFF - 7_201) == 0
    assert prefetch_stage(KICKOFF, KICKOFF - 7_200) == 1
    assert prefetch_stage(KICKOFF, KICKOFF - 3_601) == 1
    assert prefetch_stage(KICKOFF, KICKOFF - 3_600) == 2
    assert prefetch_stage(KICKOFF, KICKOFF - 1_800) == 3
    assert prefetch_stage(KICKOFF, KICKOFF) == 0  # kicked off: live work now


def test_a_fixture_escalates_as_kick_off_nears() -> None:
    window = 900.0
    assert fixture_priority(KICKOFF, KICKOFF - 8_000, prestart_window_s=window) == (
        Priority.REFERENCE
    )
    assert fixture_priority(KICKOFF, KICKOFF - 7_000, prestart_window_s=window) == (
        Priority.PREFETCH
    )
    assert fixture_priority(KICKOFF, KICKOFF - 600, prestart_window_s=window) == Priority.LIVE


def test_identical_wants_coalesce_at_the_highest_priority() -> None:
    queue = CallQueue()
    queue.want(7, Priority.PREFETCH, 1.0)
    queue.want(7, Priority.ON_DEMAND, 2.0)
    queue.want(7, Priority.REFERENCE, 3.0)
    assert len(queue) == 1 and queue.best() is Priority.ON_DEMAND
    queue.want(8, Priority.PREFETCH, 0.5)
    assert take(queue, limit=20) == (Priority.ON_DEMAND, [7, 8])  # one call, best first
    assert take(queue, limit=1) == (Priority.ON_DEMAND, [7])
    queue.done([7, 8])
    assert take(queue, limit=20) is None
