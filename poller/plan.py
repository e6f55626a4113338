"""When to poll next: a pure function of time, the live set and the quota (like arq's next_cron).

The wanted cadence depends on the sport and the state of its matches (faster in the closing
minutes, slower with nothing live, a poll at kick-off). The daily quota always wins: the usable
budget is split between the expected live time left today and the idle time, idle polls get at
most ``idle_share`` of it, and each interval is at least the share's time divided by its calls.
Because the plan is recomputed after every poll from the *remaining* budget, polling slows down as
the budget shrinks, before it runs out, and stops at the reserve until the 00:00 UTC reset.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CADENCES", "Cadence", "Plan", "PlanInput", "live_demand", "plan_next"]


@dataclass(frozen=True, slots=True)
class Cadence:
    """Wanted seconds between polls of one sport, before the quota has its say."""

    live_s: float
    closing_s: float
    idle_s: float
    prestart_s: float
    #: Start polling at ``prestart_s`` this long before a known kick-off.
    prestart_window_s: float = 900.0
    #: Typical length of a match, used to estimate the live time left today.
    match_length_s: float = 7_200.0
    #: Longest sleep while waiting for a known kick-off.
    max_sleep_s: float = 3 * 3600.0


DEFAULT_CADENCES: dict[str, Cadence] = {
    "football": Cadence(live_s=15, closing_s=10, idle_s=900, prestart_s=60),
    "basketball": Cadence(live_s=8, closing_s=5, idle_s=900, prestart_s=60, match_length_s=9_000),
    "baseball": Cadence(live_s=45, closing_s=30, idle_s=900, prestart_s=120, match_length_s=10_800),
}


@dataclass(frozen=True, slots=True)
class PlanInput:
    now: float
    live_count: int
    is_closing: bool
    next_kickoff: float | None
    #: Seconds of live play expected before the quota resets (from today's known matches).
    expected_live_s: float
    usable_calls: int
    seconds_to_reset: float
    idle_share: float = 0.2


@dataclass(frozen=True, slots=True)
class Plan:
    interval_s: float
    reason: str
    #: The quota's floor on the interval (0 when the quota does not bind).
    budget_floor_s: float


def _time_left(cadence: Cadence, state: PlanInput) -> tuple[float, float]:
    """Seconds of live and of idle time expected before the reset."""
    live_left = min(state.seconds_to_reset, max(state.expected_live_s, 0.0))
    if state.live_count > 0:
        live_left = max(live_left, min(state.seconds_to_reset, cadence.match_length_s / 2))
    return live_left, max(0.0, state.seconds_to_reset - live_left)


def live_demand(cadence: Cadence, state: PlanInput) -> float:
    """Calls the live plan wants before the reset if the quota did not bind.

    Counted at the closing-minutes cadence throughout, an upper bound: low-priority work
    (:mod:`poller.refplan`) may only spend what is left above it, so it never makes the quota
    bind on live polls.
    """
    live_left, idle_left = _time_left(cadence, state)
    return live_left / min(cadence.live_s, cadence.closing_s) + idle_left / cadence.idle_s


def plan_next(cadence: Cadence, state: PlanInput) -> Plan:
    """Seconds until the next live poll of one sport, and why."""
    if state.usable_calls <= 0:
        # Daily budget spent down to the reserve: nothing until the reset (plus a margin).
        return Plan(state.seconds_to_reset + 1, "quota reserve reached", state.seconds_to_reset)
    is_live = state.live_count > 0
    live_left, idle_left = _time_left(cadence, state)
    wanted_live = live_left / cadence.live_s
    wanted_idle = idle_left / cadence.idle_s
    live_floor = idle_floor = 0.0
    if wanted_live + wanted_idle > state.usable_calls:
        idle_calls = max(1.0, min(wanted_idle, state.idle_share * state.usable_calls))
        live_calls = max(1.0, state.usable_calls - idle_calls)
        live_floor = live_left / live_calls
        idle_floor = idle_left / idle_calls if idle_left > 0 else 0.0
    if is_live:
        wanted = cadence.closing_s if state.is_closing else cadence.live_s
        reason = "closing minutes" if state.is_closing else "live"
        return Plan(max(wanted, live_floor), reason, live_floor)
    interval = max(cadence.idle_s, idle_floor)
    reason = "idle"
    if state.next_kickoff is not None:
        until = state.next_kickoff - state.now
        if until <= cadence.prestart_window_s:
            interval = max(cadence.prestart_s, live_floor)
            reason = "kick-off soon"
        else:
            # Nothing live and the next kick-off known: sleep until just before it (bounded, so
            # a changed schedule is still noticed), keeping the budget for the live time.
            interval = max(1.0, min(until - cadence.prestart_window_s, cadence.max_sleep_s))
            reason = "wake before kick-off"
    return Plan(interval, reason, idle_floor)
