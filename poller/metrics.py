"""What the operator needs to see (issue: metrics), as prometheus-client collectors.

Collectors live in a registry passed in (never the global default), so several pollers or test
runs in one process do not collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from poller.resilience import BreakerState

__all__ = ["PollerMetrics"]

_BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class PollerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.upstream_calls = Counter(
            "poller_upstream_calls",
            "Upstream HTTP calls made, by sport host and outcome",
            ["sport", "endpoint", "outcome"],
            registry=self.registry,
        )
        self.quota_remaining = Gauge(
            "poller_upstream_quota_remaining",
            "Quota left per sport host as the upstream last reported it (window: day|minute)",
            ["sport", "window"],
            registry=self.registry,
        )
        self.polls = Counter(
            "poller_polls",
            "Polls run, by sport and kind (live|detail|fixtures)",
            ["sport", "kind"],
            registry=self.registry,
        )
        self.changes = Counter(
            "poller_changes",
            "Changes detected, by sport and event name",
            ["sport", "event"],
            registry=self.registry,
        )
        self.items_dropped = Counter(
            "poller_items_dropped",
            "Upstream items skipped as malformed, by sport and reason (each poll that sees one)",
            ["sport", "reason"],
            registry=self.registry,
        )
        self.publish_latency = Histogram(
            "poller_publish_latency_seconds",
            "From the upstream response to the hand-off to pusherd",
            ["sport"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.publish_failures = Counter(
            "poller_publish_failures",
            "Batches that could not be handed to pusherd",
            ["sport"],
            registry=self.registry,
        )
        self.feed_stale = Gauge(
            "poller_feed_stale",
            "1 while matches are in play but the feed has not changed",
            ["sport"],
            registry=self.registry,
        )
        self.circuit_state = Gauge(
            "poller_circuit_state",
            "Circuit breaker per sport host: 0 closed, 1 half-open, 2 open",
            ["sport"],
            registry=self.registry,
        )

    def set_circuit(self, sport: str, state: BreakerState) -> None:
        self.circuit_state.labels(sport=sport).set(_BREAKER_VALUE[state])
