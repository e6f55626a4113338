"""The webhook seam: what the server reports, whoever delivers it (``pusherd.webhooks``)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["KeyQuota", "WebhookSink", "api_key_channel"]


class WebhookSink(Protocol):
    """Where webhook-worthy events go (``pusherd.webhooks.WebhookDispatcher``)."""

    def channel_occupied(self, app_id: str, channel: str) -> None: ...
    def channel_vacated(self, app_id: str, channel: str) -> None: ...
    def member_added(self, app_id: str, channel: str, user_id: str) -> None: ...
    def member_removed(self, app_id: str, channel: str, user_id: str) -> None: ...
    def client_event(
        self, app_id: str, channel: str, event: str, data: str, socket_id: str, user_id: str | None
    ) -> None: ...
    def cache_miss(self, app_id: str, channel: str) -> None: ...
    def cache_filled(self, app_id: str, channel: str) -> None: ...
    def subscription_count(self, app_id: str, channel: str, count: int) -> None: ...


def api_key_channel(key_id: str) -> str:
    """The internal channel every socket an API key authorised joins: its count is the key's
    connection count on all nodes, and closing its sockets ends the key's access."""
    return f"#api-key-{key_id}"


class KeyQuota(Protocol):
    """Which API key authorised a socket, and how many sockets that key may hold (issue 5).

    The WebSocket carries no API key: the key and the socket first meet when the app's auth
    endpoint signs a subscription or signin for that socket id, so pusherd asks after those.
    """

    async def key_limit(self, socket_id: str) -> tuple[str, int] | None:
        """``(key id, max concurrent connections)``, or ``None`` when no key is known.

        A revoked key answers a limit of 0, so an old auth token cannot subscribe again.
        """
        ...
