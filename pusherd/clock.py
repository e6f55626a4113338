"""Time and randomness as parameters (house rule 6): tests advance a clock instead of sleeping."""

from __future__ import annotations

import random
import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "IdFactory", "SystemClock"]


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds for deadlines; never goes backwards."""
        ...

    def time(self) -> float:
        """Unix seconds, for signatures' timestamp windows and webhook ``time_ms``."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when a test says so."""

    def __init__(self, start_unix_s: float = 1_700_000_000.0) -> None:
        self._unix_s = start_unix_s
        self._monotonic_s = 1000.0

    def monotonic(self) -> float:
        return self._monotonic_s

    def time(self) -> float:
        return self._unix_s

    def advance(self, seconds: float) -> None:
        self._unix_s += seconds
        self._monotonic_s += seconds


class IdFactory:
    """Socket ids as Pusher shapes them: two random integers joined by a dot (§1.3).

    Each half is uniform in 0…10¹⁰, so ids from many nodes collide with negligible probability;
    the connection registry still refuses a duplicate on one node.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def socket_id(self) -> str:
        randbelow = self._rng.randrange
        return f"{randbelow(10**10)}.{randbelow(10**10)}"
