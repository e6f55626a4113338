"""Readiness: named checks answered by ``GET /ready`` (issue 14, item 5).

A load balancer sends new clients only to a node that can serve them: one whose Redis (when
configured) and SQL key store answer, whose embedded poller has fresh data for every sport in
play, and which is not draining for a hand-over. Each check is a small coroutine that returns
``None`` when healthy or a short reason; :meth:`Readiness.report` runs them all concurrently,
each bounded by a timeout, so one hung dependency cannot hang the probe.

Reasons never contain a URL or a password: they are built here from fixed text and exception
class names, not from ``str(exc)``, which for Redis and SQLAlchemy may quote the connection URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Check",
    "Readiness",
    "ReadinessReport",
    "redis_check",
    "sql_check",
]

#: A readiness check: ``None`` when healthy, else why not (no secrets in it).
Check = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    is_ready: bool
    #: check name → "ok" or the reason it failed.
    checks: dict[str, str]

    def body(self) -> dict[str, Any]:
        failed = sorted(name for name, state in self.checks.items() if state != "ok")
        return {
            "status": "ready" if self.is_ready else "not ready",
            "failed": failed,
            "checks": self.checks,
        }


@dataclass
class Readiness:
    """The checks of one process and its draining flag; shared by the lifespan and /ready."""

    timeout_s: float = 1.0
    checks: dict[str, Check] = field(default_factory=dict)
    is_draining: bool = False
    #: While draining: when (event-loop time) the last client will have been told to reconnect.
    handover_ends_at: float = 0.0

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def remove(self, name: str) -> None:
        self.checks.pop(name, None)

    async def report(self) -> ReadinessReport:
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(self.checks[name]) for name in names))
        states = {name: result or "ok" for name, result in zip(names, results, strict=True)}
        states["draining"] = "draining for shutdown" if self.is_draining else "ok"
        return ReadinessReport(all(s == "ok" for s in states.values()), states)

    async def _run(self, check: Check) -> str | None:
        try:
            return await asyncio.wait_for(check(), timeout=self.timeout_s)
        except TimeoutError:
            return f"no answer within {self.timeout_s:g}s"
        except Exception as exc:  # a check must report, never raise into the probe
            return f"check failed: {type(exc).__name__}"


class _Pingable(Protocol):
    def ping(self) -> Awaitable[Any]: ...


def redis_check(client: _Pingable) -> Check:
    """Redis answers PING."""

    async def check() -> str | None:
        try:
            await client.ping()
        except Exception as exc:
            return f"redis unreachable: {type(exc).__name__}"
        return None

    return check


def sql_check(ping: Callable[[], None]) -> Check:
    """The SQL store answers ``ping`` (a blocking ``SELECT 1``, run in a worker thread)."""

    async def check() -> str | None:
        try:
            await asyncio.to_thread(ping)
        except Exception as exc:
            return f"sql unreachable: {type(exc).__name__}"
        return None

    return check
