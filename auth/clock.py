"""The time source of the auth service, passed in so that tests can move time by hand.

Two readings are needed: wall-clock seconds for key expiry (stored in the database, shared across
processes) and monotonic seconds for the verification cache and the failure limiter (local
deadlines that must not jump when the system clock is set).
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """What the auth service reads the time from."""

    def time(self) -> float:
        """Unix seconds (UTC), comparable with stored expiry times."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The real clocks of this process."""

    __slots__ = ()

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
