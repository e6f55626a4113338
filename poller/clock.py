"""Time as a parameter: the poller and the simulator never read the wall clock themselves.

Every component takes a :class:`Clock`, so tests drive a whole simulated day by advancing a
:class:`FakeClock`, and the demo runs the simulator faster than real time with a
:class:`ScaledClock` (house style rule 6).
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "ScaledClock", "SystemClock"]


class Clock(Protocol):
    def time(self) -> float:
        """Unix seconds (UTC): used for quota days, kick-offs and payload timestamps."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when a test says so."""

    def __init__(self, start: float) -> None:
        self._now = start

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, now: float) -> None:
        self._now = now


class ScaledClock:
    """Virtual time starting at ``start`` and running ``speed`` times faster than ``base``."""

    def __init__(self, start: float, speed: float, base: Clock | None = None) -> None:
        self._base = base if base is not None else SystemClock()
        self._origin = self._base.time()
        self._start = start
        self._speed = speed

    def time(self) -> float:
        return self._start + (self._base.time() - self._origin) * self._speed
