"""Prometheus metrics, read from live state when scraped (house style: no hand-kept counters on
the hot path). ``GET /metrics`` on the server's port serves them in the text format.

What an operator watches: open connections and subscriptions per app (capacity), presence
members, sockets dropped for being too slow, the webhook queue (delivered, given up, dropped),
and writes the Redis adapter had to drop while Redis was unreachable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pusherd.adapters.base import Adapter
from pusherd.adapters.redis import RedisAdapter
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
    ) -> None:
        self._endpoint = endpoint
        self._webhooks = webhooks
        self._adapter = adapter

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
        if isinstance(self._adapter, RedisAdapter):
            yield CounterMetricFamily(
                "pusherd_cluster_writes_dropped",
                "Publishes and cache writes dropped while Redis could not keep up",
                value=self._adapter.dropped_writes,
            )
