"""Waiting for an outcome instead of refusing: the async side of the failure limiter.

The limiter (pure) answers ``WAIT`` when a subject's remaining failure budget is held by attempts
still in flight. :class:`AdmissionGate` parks such an attempt on a per-subject FIFO and wakes one
waiter each time an attempt settles, so a burst of N requests from one address runs at most
``budget`` verifications at once, and the rest either follow them (when they succeeded) or get
their 429 (when they failed and spent the budget). No polling, no thundering herd: one wake-up
per settled attempt.
"""

from __future__ import annotations

import asyncio
from collections import deque

from auth.clock import Clock
from auth.ratelimit import Admission, FailureLimiter

__all__ = ["AdmissionGate"]


class AdmissionGate:
    """Admits attempts per subject through a :class:`FailureLimiter`, waiting where it says so."""

    __slots__ = ("_clock", "_limiter", "_waiters")

    def __init__(self, *, limiter: FailureLimiter, clock: Clock) -> None:
        self._limiter = limiter
        self._clock = clock
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}

    @property
    def limiter(self) -> FailureLimiter:
        return self._limiter

    async def enter(self, subject: str) -> bool:
        """``True`` once an attempt may run (a token is reserved); ``False`` when refused.

        Every ``True`` must be followed by exactly one :meth:`leave`.
        """
        while True:
            admission = self._limiter.admit(subject, now=self._clock.monotonic())
            if admission is Admission.GRANTED:
                return True
            if admission is Admission.REFUSED:
                self._wake_one(subject)  # whoever waits behind us learns the same at once
                return False
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(subject, deque()).append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one(subject)  # the wake-up meant for us goes to the next one
                raise
            finally:
                queue = self._waiters.get(subject)
                if queue is not None:
                    if waiter in queue:
                        queue.remove(waiter)
                    if not queue:
                        del self._waiters[subject]

    def leave(self, subject: str, *, is_failure: bool) -> None:
        """Settle an admitted attempt and let the next waiter of ``subject`` try."""
        self._limiter.release(subject, now=self._clock.monotonic(), is_failure=is_failure)
        self._wake_one(subject)

    def _wake_one(self, subject: str) -> None:
        queue = self._waiters.get(subject)
        while queue:
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def waiting(self, subject: str) -> int:
        queue = self._waiters.get(subject)
        return 0 if queue is None else len(queue)
