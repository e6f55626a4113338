"""Webhooks (reference §10): what to send and when (:mod:`.events`), how (:mod:`.sender`), and the
entry point the WebSocket layer calls (:class:`WebhookDispatcher`)."""

from __future__ import annotations

from pusherd.webhooks.dispatcher import WebhookDispatcher
from pusherd.webhooks.events import WebhookEvent, WebhookRules
from pusherd.webhooks.sender import ID_HEADER, RetryPolicy, WebhookSender

__all__ = [
    "ID_HEADER",
    "RetryPolicy",
    "WebhookDispatcher",
    "WebhookEvent",
    "WebhookRules",
    "WebhookSender",
]
