"""Where events from outside enter: the HTTP API, the Redis feed and the embedded poller.

They all end in :meth:`Adapter.publish`, the one dispatch path client events and presence frames
take too. What this adds is the cache bookkeeping: everything but client events may fill a
cache channel, which the webhooks must hear about so a later empty-cache subscriber raises
``cache_miss`` again (§10.3).
"""

from __future__ import annotations

from pusherd.adapters.base import Adapter, is_cache_channel
from pusherd.config import AppConfig
from pusherd.hooks import WebhookSink

__all__ = ["EventPublisher"]


class EventPublisher:
    def __init__(self, *, adapter: Adapter, webhooks: WebhookSink | None = None) -> None:
        self._adapter = adapter
        self._webhooks = webhooks

    @property
    def adapter(self) -> Adapter:
        """The node's adapter, for companions that read channel occupancy (usage sampling)."""
        return self._adapter

    def publish(
        self, app: AppConfig, channel: str, frame: bytes, except_socket_id: str | None = None
    ) -> None:
        """Deliver ``frame`` (built once by the caller) on every node; remember it on cache
        channels."""
        if is_cache_channel(channel):
            self._adapter.publish(
                app.app_id, channel, frame, except_socket_id, cache_ttl_s=app.cache_ttl_s
            )
            if self._webhooks is not None:
                self._webhooks.cache_filled(app.app_id, channel)
            return
        self._adapter.publish(app.app_id, channel, frame, except_socket_id)

    def terminate_channel(self, app: AppConfig, channel: str) -> None:
        """Close every socket on the internal ``channel`` (all nodes): a revoked key's sockets."""
        self._adapter.terminate_channel(app.app_id, channel)
