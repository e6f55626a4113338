"""Failure budgets per client address and per key id, so guessing keys is slow and cheap for us.

Only failed authentications spend the budget: a well-behaved client never notices the limiter.
Each subject (an address, a key id) has a token bucket of ``max_failures`` tokens refilled over
``window_s``. An attempt *reserves* a token (:meth:`FailureLimiter.try_reserve`) before any
database lookup or hash and gets it back on success (:meth:`FailureLimiter.refund`): reserve and
check are one synchronous step, so a burst of concurrent attempts can never all pass a check
made before any of them failed (the check-then-act gap of recording failures afterwards). Pure:
the monotonic time is passed in. State is per process (a cluster multiplies the budget by its node
count; acceptable for a guard whose job is making brute force impractical).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FailureLimiter", "FailureLimits"]


@dataclass(frozen=True, slots=True)
class FailureLimits:
    """``max_failures`` per ``window_s`` for each subject; at most ``max_subjects`` tracked."""

    max_failures: int
    window_s: float
    max_subjects: int = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class FailureLimiter:
    """A token bucket per subject, evicting refilled (idle) subjects when full."""

    __slots__ = ("_buckets", "_limits", "_rate")

    def __init__(self, limits: FailureLimits) -> None:
        self._limits = limits
        self._rate = limits.max_failures / limits.window_s
        self._buckets: dict[str, _Bucket] = {}

    def retry_after(self, subject: str, *, now: float) -> float:
        """0 when ``subject`` may try again, else the seconds until it may."""
        bucket = self._refilled(subject, now)
        if bucket is None or bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self._rate

    def try_reserve(self, subject: str, *, now: float) -> bool:
        """Take one token for an attempt about to run; ``False`` (nothing taken) when empty."""
        bucket = self._refilled(subject, now)
        if bucket is not None and bucket.tokens < 1.0:
            return False
        self.record_failure(subject, now=now)
        return True

    def refund(self, subject: str, *, now: float) -> None:
        """Give back the token of an attempt that succeeded."""
        bucket = self._refilled(subject, now)
        if bucket is not None:
            bucket.tokens = min(float(self._limits.max_failures), bucket.tokens + 1.0)

    def record_failure(self, subject: str, *, now: float) -> None:
        bucket = self._refilled(subject, now)
        if bucket is None:
            if len(self._buckets) >= self._limits.max_subjects:
                self._evict(now)
            bucket = _Bucket(tokens=float(self._limits.max_failures), updated=now)
            self._buckets[subject] = bucket
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, subject: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(subject)
        if bucket is None:
            return None
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self._limits.max_failures), bucket.tokens + elapsed * self._rate)
        bucket.updated = now
        return bucket

    def _evict(self, now: float) -> None:
        """Drop subjects whose bucket has refilled; if none has, the oldest half."""
        full = float(self._limits.max_failures)
        idle = [
            s
            for s, b in self._buckets.items()
            if b.tokens + max(0.0, now - b.updated) * self._rate >= full
        ]
        if not idle:
            idle = list(self._buckets)[: max(1, len(self._buckets) // 2)]
        for subject in idle:
            del self._buckets[subject]
