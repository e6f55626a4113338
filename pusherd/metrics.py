"""Prometheus metrics, read from live state when scraped (house style: no hand-kept counters on
the hot path). ``GET /metrics`` on the server's port serves them in the text format.

What an operator watches: open connections and subscriptions per app (capacity), presence
members, sockets dropped for being too slow, the webhook queue (delivered, given up, dropped),
writes the Redis adapter had to drop while Redis was unreachable, event-loop lag (a stall of
every socket) and connections refused at the front door.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from pusherd.adapters.base import Adapter
from pusherd.frontdoor import FrontDoorStats
from pusherd.looplag import LoopLagMonitor
from pusherd.transport.endpoint import WebSocketEndpoint
from pusherd.webhooks import WebhookDispatcher

__all__ = ["ServerCollector"]


class ServerCollector(Collector):
    def __init__(
        self,
        *,
        endpoint: WebSocketEndpoint,
        webhooks: WebhookDispatcher | None,
        adapter: Adapter,
        loop_lag: LoopLagMonitor | None = None,
        front_door: FrontDoorStats | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._webhooks = webhooks
        self._adapter = adapter
        self._loop_lag = loop_lag
        self._front_door = front_door

    def collect(self) -> Iterator[Metric]:
        connections = GaugeMetricFamily(
            "pusherd_connections", "Open WebSocket connections of this node", labels=["app_id"]
        )
        for app_id, count in sorted(self._endpoint.connections_per_app.items()):
            connections.add_metric([app_id], count)
        yield connections
        subscriptions: Counter[str] = Counter()
        for connection in tuple(self._endpoint.connections.values()):
            app, session = getattr(connection, "app", None), getattr(connection, "session", None)
            if app is not None and session is not None:
                subscriptions[app.app_id] += len(session.channels)
        gauge = GaugeMetricFamily(
            "pusherd_subscriptions",
            "Channel subscriptions held by this node's sockets (internal channels included)",
            labels=["app_id"],
        )
        for app_id, count in sorted(subscriptions.items()):
            gauge.add_metric([app_id], count)
        yield gauge
        yield CounterMetricFamily(
            "pusherd_slow_consumers_dropped",
            "Sockets closed because their unsent output passed the bound",
            value=self._endpoint.slow_consumers_dropped,
        )
        if self._webhooks is not None:
            sender = self._webhooks.sender
            yield CounterMetricFamily(
                "pusherd_webhooks_delivered",
                "Webhook requests answered 2xx",
                value=sender.delivered,
            )
            yield CounterMetricFamily(
                "pusherd_webhooks_given_up",
                "Webhook requests abandoned after 5 minutes of retries",
                value=sender.given_up,
            )
            yield CounterMetricFamily(
                "pusherd_webhooks_dropped",
                "Webhook events dropped because the outbox was full",
                value=self._webhooks.dropped,
            )
            yield GaugeMetricFamily(
                "pusherd_webhooks_pending",
                "Webhook events waiting or in flight",
                value=sender.outbox_size,
            )
        if self._loop_lag is not None:
            yield from _loop_lag_metrics(self._loop_lag)
        if self._front_door is not None:
            refused = CounterMetricFamily(
                "pusherd_front_door_refused",
                "Connections refused or closed by the front door's limits (408, 414, 431, "
                "body_timeout, handshakes_per_address)",
                labels=["reason"],
            )
            for reason, count in sorted(self._front_door.by_reason.items()):
                refused.add_metric([reason], count)
            yield refused
        counters = self._adapter.counters()
        yield CounterMetricFamily(
            "pusherd_cluster_writes_dropped",
            "Publishes and cache writes dropped while Redis could not keep up",
            value=counters.dropped_writes,
        )
        yield CounterMetricFamily(
            "pusherd_cluster_repair_overflows",
            "Channels not queued for repair because the repair queue was full "
            "(every channel was re-asserted instead)",
            value=counters.repair_overflows,
        )


def _loop_lag_metrics(monitor: LoopLagMonitor) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "pusherd_event_loop_lag_seconds",
        "How late the latest scheduled wake-up of the event loop fired",
        value=monitor.last_s,
    )
    yield GaugeMetricFamily(
        "pusherd_event_loop_lag_max_seconds",
        "The worst event-loop lag since the server started",
        value=monitor.max_s,
    )
    cumulative = 0
    buckets: list[tuple[str, float]] = []
    for bound, count in zip((*monitor.buckets_s, float("inf")), monitor.bucket_counts, strict=True):
        cumulative += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
    yield HistogramMetricFamily(
        "pusherd_event_loop_lag_observed_seconds",
        "Every event-loop lag sample, so a stall between two scrapes is still counted",
        buckets=buckets,
        sum_value=monitor.sum_s,
    )
