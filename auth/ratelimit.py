"""Failure budgets per client address and per key id, so guessing keys is slow and cheap for us.

Only failed authentications spend the budget: a well-behaved client never notices the limiter.
Each subject (an address, a key id) has a token bucket of ``max_failures`` tokens refilled over
``window_s``. An attempt is *admitted* (:meth:`FailureLimiter.admit`) before any database lookup
or hash, which holds one token as a reservation, and *released* afterwards
(:meth:`FailureLimiter.release`): a failure spends the token, a success gives it back. Admission
and reservation are one synchronous step, so a burst of concurrent attempts can never all pass a
check made before any of them failed (the check-then-act gap of recording failures afterwards):
at most the remaining budget is in flight, and the rest wait for an outcome (``WAIT``) rather than
being refused, so a busy address whose attempts succeed (an office, a proxy) is never turned
away. Pure: the monotonic time is passed in."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Admission", "FailureLimiter", "FailureLimits"]


@dataclass(frozen=True, slots=True)
class FailureLimits:
    """``max_failures`` per ``window_s`` for each subject; at most ``max_subjects`` tracked."""

    max_failures: int
    window_s: float
    max_subjects: int = 100_000


class Admission(enum.Enum):
    GRANTED = "granted"
    #: Budget is left but held by attempts in flight: ask again once one of them settles.
    WAIT = "wait"
    REFUSED = "refused"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    reserved: int = 0


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

    def admit(self, subject: str, *, now: float) -> Admission:
        """Reserve a token for an attempt about to run, unless the budget is spent or held."""
        bucket = self._refilled(subject, now)
        if bucket is None:
            bucket = self._new_bucket(subject, now)
        if bucket.tokens - bucket.reserved >= 1.0:
            bucket.reserved += 1
            return Admission.GRANTED
        return Admission.WAIT if bucket.tokens >= 1.0 else Admission.REFUSED

    def release(self, subject: str, *, now: float, is_failure: bool) -> None:
        """Settle an admitted attempt: a failure spends its token, a success returns it."""
        bucket = self._refilled(subject, now)
        if bucket is None:
            return
        bucket.reserved = max(0, bucket.reserved - 1)
        if is_failure:
            bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def record_failure(self, subject: str, *, now: float) -> None:
        bucket = self._refilled(subject, now)
        if bucket is None:
            bucket = self._new_bucket(subject, now)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def _new_bucket(self, subject: str, now: float) -> _Bucket:
        if len(self._buckets) >= self._limits.max_subjects:
            self._evict(now)
        bucket = _Bucket(tokens=float(self._limits.max_failures), updated=now)
        self._buckets[subject] = bucket
        return bucket

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
        """Drop subjects whose bucket has refilled; if none has, the oldest half.

        A subject with attempts in flight is never dropped (its reservations would be lost).
        """
        full = float(self._limits.max_failures)
        idle = [
            s
            for s, b in self._buckets.items()
            if not b.reserved and b.tokens + max(0.0, now - b.updated) * self._rate >= full
        ]
        if not idle:
            settled = [s for s, b in self._buckets.items() if not b.reserved]
            idle = settled[: max(1, len(settled) // 2)]
        for subject in idle:
            del self._buckets[subject]
