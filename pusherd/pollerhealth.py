"""Readiness of the embedded poller: fresh data for every sport that has a match in play.

A sport's data is fresh when its last successful live poll is younger than ``intervals`` times
its live cadence, measured on the poller's own clock (the simulator's runs faster than the
wall). Successful polls are read from the poller's own ``poller_polls_total{kind="live"}``
counter, so nothing in the poller had to change for this; a sport with nothing in play has
nothing to be fresh about and always passes.

The check is driven by the probe: it notes when the counter last moved, so its answer is exact
to within the probe's own period (a load balancer probes every few seconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from pusherd.readiness import Check

__all__ = ["poller_freshness"]


class _Clock(Protocol):
    def time(self) -> float: ...


class _Registry(Protocol):
    def get_sample_value(self, name: str, labels: dict[str, str] | None = None) -> float | None: ...


class _SportPoller(Protocol):
    sport: str

    @property
    def states(self) -> Mapping[Any, Any]: ...

    @property
    def p(self) -> Any: ...


def _in_play(poller: _SportPoller) -> bool:
    return any(state.match.status.is_in_play for state in poller.states.values())


def poller_freshness(
    pollers: Iterable[_SportPoller], *, registry: _Registry, clock: _Clock, intervals: float = 3.0
) -> Check:
    """A :data:`~pusherd.readiness.Check` failing when a live sport's data is too old."""
    pollers = list(pollers)
    started = clock.time()
    seen: dict[str, tuple[float, float]] = {}  # sport → (counter value, when it last moved)

    async def check() -> str | None:
        now = clock.time()
        stale = []
        for poller in pollers:
            count = registry.get_sample_value(
                "poller_polls_total", {"sport": poller.sport, "kind": "live"}
            )
            value = count or 0.0
            last_value, moved_at = seen.get(poller.sport, (0.0, started))
            if value != last_value:
                moved_at = now
            seen[poller.sport] = (value, moved_at)
            limit = intervals * poller.p.cadence.live_s
            if _in_play(poller) and now - moved_at > limit:
                stale.append(f"{poller.sport} ({now - moved_at:.0f}s > {limit:.0f}s)")
        return f"poller data stale: {', '.join(stale)}" if stale else None

    return check
