"""Backoff, circuit breaking and quota accounting: pure values driven by an explicit ``now``.

Nothing here sleeps or reads a clock: callers pass ``now`` (Unix seconds) and act on what comes
back, so a test walks through an outage or a whole quota day by moving a number
(house style rules 1 and 6).
"""

from __future__ import annotations

import enum
import math
from typing import Protocol

__all__ = [
    "Backoff",
    "BreakerState",
    "CircuitBreaker",
    "QuotaBudget",
    "RandomSource",
    "TokenBucket",
]

DAY_S = 86_400.0


class RandomSource(Protocol):
    """What jitter needs from a ``random.Random`` (injected, seeded in tests)."""

    def uniform(self, a: float, b: float) -> float: ...


class Backoff:
    """Exponential backoff with "equal jitter": half the step fixed, half random.

    Full jitter can pick ~0 s and hammer a failing upstream; equal jitter keeps a floor while
    still spreading retries of several pollers apart.
    """

    def __init__(
        self, *, rng: RandomSource, base_s: float = 1.0, max_s: float = 300.0, factor: float = 2.0
    ) -> None:
        self._rng = rng
        self._base_s = base_s
        self._max_s = max_s
        self._factor = factor

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        step = min(self._max_s, self._base_s * self._factor ** max(0, attempt))
        return step / 2 + self._rng.uniform(0, step / 2)


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stops calling a failing upstream, then lets one probe through to see if it recovered.

    ``failure_threshold`` consecutive failures open the circuit for ``reset_timeout_s``; a
    failed probe doubles the timeout (up to ``max_reset_timeout_s``), a successful one closes it.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        max_reset_timeout_s: float = 600.0,
    ) -> None:
        self._threshold = failure_threshold
        self._base_timeout_s = reset_timeout_s
        self._max_timeout_s = max_reset_timeout_s
        self._timeout_s = reset_timeout_s
        self._failures = 0
        self._opened_at = 0.0
        self.state = BreakerState.CLOSED

    def allow(self, now: float) -> bool:
        """Whether a call may go out now (in HALF_OPEN: only the single probe)."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and now >= self._opened_at + self._timeout_s:
            self.state = BreakerState.HALF_OPEN
            return True
        return False

    def retry_at(self) -> float:
        """When an open circuit will let the next probe through."""
        return self._opened_at + self._timeout_s

    def record_success(self) -> None:
        self._failures = 0
        self._timeout_s = self._base_timeout_s
        self.state = BreakerState.CLOSED

    def record_failure(self, now: float) -> None:
        if self.state is BreakerState.HALF_OPEN:
            self._timeout_s = min(self._max_timeout_s, self._timeout_s * 2)
            self._open(now)
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._open(now)

    def _open(self, now: float) -> None:
        self.state = BreakerState.OPEN
        self._opened_at = now


class TokenBucket:
    """Guards the per-minute limit: ``rate_per_s`` refill, at most ``capacity`` in a burst."""

    def __init__(self, *, rate_per_s: float, capacity: float, now: float) -> None:
        self._rate = rate_per_s
        self._capacity = capacity
        self._tokens = capacity
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def try_take(self, now: float) -> bool:
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def tokens(self, now: float) -> float:
        """Calls the bucket would allow right now (low-priority work leaves one for live)."""
        self._refill(now)
        return self._tokens

    def wait_s(self, now: float) -> float:
        """Seconds until a token is available."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    def drain(self, now: float) -> None:
        """The upstream said the minute is used up: start refilling from empty."""
        self._refill(now)
        self._tokens = 0.0


class QuotaBudget:
    """The daily quota of one sport host: our own count, corrected by the upstream's headers.

    The day resets at 00:00 UTC (upstream reference §6.1). ``reserve`` calls are never planned, so
    a final-state fetch or a restart still has quota left.
    """

    def __init__(self, *, daily_limit: int, reserve: int = 5) -> None:
        self.daily_limit = daily_limit
        self.reserve = reserve
        self._day = -1
        self._used = 0
        self._header_remaining: int | None = None
        self._blocked_day = -1

    @staticmethod
    def _day_of(now: float) -> int:
        return math.floor(now / DAY_S)

    def _roll(self, now: float) -> None:
        day = self._day_of(now)
        if day != self._day:
            self._day = day
            self._used = 0
            self._header_remaining = None

    def seconds_to_reset(self, now: float) -> float:
        return (self._day_of(now) + 1) * DAY_S - now

    def spend(self, now: float) -> None:
        self._roll(now)
        self._used += 1
        if self._header_remaining is not None:
            self._header_remaining -= 1

    def observe(self, *, remaining: int | None, limit: int | None, now: float) -> None:
        """Take the upstream's ``x-ratelimit-requests-*`` headers as the truth when present."""
        self._roll(now)
        if limit is not None and limit > 0:
            self.daily_limit = limit
        if remaining is not None:
            self._header_remaining = remaining

    def block_until_reset(self, now: float) -> None:
        """``errors.requests``: no call succeeds again before the reset, so make none."""
        self._roll(now)
        self._blocked_day = self._day

    def remaining(self, now: float) -> int:
        self._roll(now)
        if self._blocked_day == self._day:
            return 0
        own = self.daily_limit - self._used
        if self._header_remaining is not None:
            return max(0, min(own, self._header_remaining))
        return max(0, own)

    def usable(self, now: float) -> int:
        """Calls the planner may still spend today."""
        return max(0, self.remaining(now) - self.reserve)
