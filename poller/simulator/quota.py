"""Accounts and quota counters of the fake upstream (upstream reference §6, §8.4).

Counters are per key *and per sport host*, a day is a UTC day of the virtual clock, and the
per-minute window is the fixed virtual minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Account", "Ledger"]


@dataclass(frozen=True, slots=True)
class Account:
    key: str
    daily_limit: int = 100
    minute_limit: int = 10
    plan: str = "Free"
    is_suspended: bool = False
    #: "direct" (API-Sports dashboard key) or "rapidapi": keys do not cross channels (§1.2).
    channel: str = "direct"


class Ledger:
    def __init__(self) -> None:
        self._daily: dict[tuple[str, str], tuple[int, int]] = {}
        self._minute: dict[tuple[str, str], tuple[int, int]] = {}

    def daily_used(self, key: str, sport: str, now: float) -> int:
        day, used = self._daily.get((key, sport), (-1, 0))
        return used if day == math.floor(now / 86_400) else 0

    def minute_used(self, key: str, sport: str, now: float) -> int:
        minute, used = self._minute.get((key, sport), (-1, 0))
        return used if minute == math.floor(now / 60) else 0

    def seconds_to_reset(self, now: float) -> int:
        return int((math.floor(now / 86_400) + 1) * 86_400 - now)

    def count(self, key: str, sport: str, now: float) -> None:
        self._daily[(key, sport)] = (math.floor(now / 86_400), self.daily_used(key, sport, now) + 1)
        self._minute[(key, sport)] = (math.floor(now / 60), self.minute_used(key, sport, now) + 1)
