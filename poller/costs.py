"""What each upstream call costs, counted per host, endpoint and priority (issue 11 item 3).

The provider reports every HTTP call it makes (:meth:`CostLedger.called`, one per request, so
a Free plan's ``id=`` fallback counts each call); the loop says which priority it is working at
(:meth:`CostLedger.working_at`, one loop per sport, so per sport is race-free). Each call adds
the plan's price to a Prometheus counter and to the day's rows, which :meth:`CostLedger.flush`
hands to a :class:`CostSink` (the data API's SQL table, composed in ``poller.__main__``: the
poller never imports ``dataapi``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from poller.orchestrator import Priority

__all__ = ["CostLedger", "CostRow", "CostSink"]

logger = logging.getLogger("poller.costs")


@dataclass(frozen=True, slots=True)
class CostRow:
    """Calls and their cost on one UTC day for one host, endpoint and priority (a delta)."""

    day: str
    host: str
    endpoint: str
    priority: str
    calls: int
    cost: float


class CostSink(Protocol):
    """Adds rows to the per-day totals (``dataapi.costs.SqlCostStore``); run in a thread."""

    def add(self, rows: Sequence[CostRow]) -> None: ...


def _day(now: float) -> str:
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%d")


class CostLedger:
    def __init__(
        self,
        *,
        price_per_call: float,
        hosts: Mapping[str, str],
        registry: CollectorRegistry,
        sink: CostSink | None = None,
    ) -> None:
        self.price_per_call = price_per_call
        self._hosts = dict(hosts)
        self._sink = sink
        self._working: dict[str, Priority] = {}
        self._pending: dict[tuple[str, str, str, str], int] = {}
        self.calls = Counter(
            "poller_upstream_priced_calls",
            "Upstream calls by host, endpoint and orchestrator priority",
            ["host", "endpoint", "priority"],
            registry=registry,
        )
        self.cost = Counter(
            "poller_upstream_cost",
            "Cost of upstream calls (calls x the plan's price per call)",
            ["host", "endpoint", "priority"],
            registry=registry,
        )

    def working_at(self, sport: str, priority: Priority) -> None:
        self._working[sport] = priority

    def called(self, sport: str, endpoint: str, now: float) -> None:
        host = self._hosts.get(sport, sport)
        priority = self._working.get(sport, Priority.LIVE).label
        labels = {"host": host, "endpoint": endpoint, "priority": priority}
        self.calls.labels(**labels).inc()
        self.cost.labels(**labels).inc(self.price_per_call)
        key = (_day(now), host, endpoint, priority)
        self._pending[key] = self._pending.get(key, 0) + 1

    def pending_rows(self) -> list[CostRow]:
        return [
            CostRow(day, host, endpoint, priority, calls, calls * self.price_per_call)
            for (day, host, endpoint, priority), calls in sorted(self._pending.items())
        ]

    async def flush(self) -> None:
        """Hand the counted calls to the sink; kept for the next flush if it fails."""
        rows = self.pending_rows()
        if self._sink is None or not rows:
            return
        self._pending.clear()
        try:
            await asyncio.to_thread(self._sink.add, rows)
        except Exception as exc:  # the console's totals lagging must not stop the feed
            logger.warning("upstream cost write failed, kept for the next flush: %s", exc)
            for row in rows:
                key = (row.day, row.host, row.endpoint, row.priority)
                self._pending[key] = self._pending.get(key, 0) + row.calls
