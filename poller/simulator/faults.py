"""Fault injection for the fake upstream (upstream reference §8.5).

Faults are scripted (the next N matching requests) or an outage window on the virtual clock;
either way the simulator stays deterministic. Real waits (timeouts, slow answers) are in real
seconds and meant to be short in tests.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Fault", "FaultKind", "Faults"]


class FaultKind(enum.Enum):
    HTTP_499 = "http_499"
    HTTP_500 = "http_500"
    HTTP_502_HTML = "http_502_html"
    HTTP_503_HTML = "http_503_html"
    FIREWALL_403 = "firewall_403"
    HTTP_429 = "http_429"
    RATE_LIMIT_200 = "rate_limit_200"
    QUOTA_200 = "quota_200"
    BUG_200 = "bug_200"
    HTML_200 = "html_200"
    TRUNCATED = "truncated"
    EMPTY = "empty"
    TIMEOUT = "timeout"
    SLOW = "slow"


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    times: int = 1
    sport: str | None = None
    path: str | None = None
    #: Real seconds to hang (TIMEOUT) or to delay before answering (SLOW).
    delay_s: float = 0.0

    def matches(self, sport: str, path: str) -> bool:
        return (self.sport in (None, sport)) and (self.path in (None, path))


class Faults:
    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._outage: tuple[FaultKind, float, str | None] | None = None

    def add(self, fault: Fault) -> None:
        self._queue.append(fault)

    def outage(self, kind: FaultKind, until: float, sport: str | None = None) -> None:
        """Every request (of ``sport``) fails with ``kind`` until virtual time ``until``."""
        self._outage = (kind, until, sport)

    def clear(self) -> None:
        self._queue.clear()
        self._outage = None

    def next_for(self, sport: str, path: str, now: float) -> Fault | None:
        if self._outage is not None:
            kind, until, outage_sport = self._outage
            if now < until and outage_sport in (None, sport):
                return Fault(kind)
        for fault in self._queue:
            if fault.matches(sport, path):
                fault.times -= 1
                if fault.times <= 0:
                    self._queue.remove(fault)
                return fault
        return None
