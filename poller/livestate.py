"""Facts the planner needs, read off the known matches of one sport (pure).

How many are in play, whether one is in its closing minutes, the next kick-off, and how much
live time is still expected before the quota day ends (the union of match windows, so ten
simultaneous matches count once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from poller.model import Match, StatusBucket

__all__ = ["LiveFacts", "live_facts"]


@dataclass(frozen=True, slots=True)
class LiveFacts:
    live_count: int
    is_closing: bool
    next_kickoff: float | None
    expected_live_s: float


def _is_closing(match: Match) -> bool:
    short, minute = match.status_short, match.elapsed or 0
    if match.sport == "football":
        return (short == "2H" and minute >= 80) or (short == "ET" and minute >= 110) or short == "P"
    if match.sport == "basketball":
        return short in ("Q4", "OT") and minute >= 8
    if match.sport == "baseball":
        return short in ("IN9", "IN")
    return False


def live_facts(
    matches: Iterable[Match], *, now: float, day_end: float, match_length_s: float
) -> LiveFacts:
    windows: list[tuple[float, float]] = []
    live = 0
    closing = False
    next_kickoff: float | None = None
    for match in matches:
        start = float(match.start_time)
        if match.status.is_in_play:
            live += 1
            closing = closing or _is_closing(match)
            windows.append((now, max(now + 600, start + match_length_s)))
        elif match.status is StatusBucket.SCHEDULED and start + 600 >= now:
            if next_kickoff is None or start < next_kickoff:
                next_kickoff = max(start, now)
            windows.append((start, start + match_length_s))
    total = 0.0
    cursor = now
    for start, end in sorted(windows):
        start, end = max(start, cursor), min(end, day_end)
        if end > start:
            total += end - start
            cursor = end
    return LiveFacts(live, closing, next_kickoff, total)
