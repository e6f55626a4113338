"""Revocations reach every node's verification cache through Redis pub/sub.

The CLI (another process) revokes or rotates a key in the database and publishes the key id on
``{prefix}revocations``; each node's :class:`RevocationListener` evicts that key from its cache
at once, so with Redis a revocation takes effect within the pub/sub delivery time. Pub/sub is
fire-and-forget: a node that was disconnected misses messages, so on any listener error the
whole cache is cleared, and the cache TTL still bounds anything else (see ``auth.cache``).
Only the public key id travels, never the key. ``on_revoked`` lets the host act on it too:
pusherd closes the sockets the key authorised (``pusherd.embedded``). A tier change
(``keys set-tier``) travels the same way as ``tier:<key id>:<tier>`` (a key id has no colon)
and reaches ``on_tier_changed``; without Redis the poller reads it from ``tier_changed_at``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol

import redis as sync_redis
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from auth.cache import VerificationCache

__all__ = [
    "OnRevoked",
    "OnTierChanged",
    "RevocationListener",
    "call_guarded",
    "publish_revocation",
    "publish_tier_change",
    "revocation_channel",
]

logger = logging.getLogger("auth.revocation")

#: Seconds to wait for Redis to confirm the subscription before serving.
_SUBSCRIBE_TIMEOUT_S = 5.0
_RETRY_DELAY_S = 1.0
_TIER_PREFIX = "tier:"

OnRevoked = Callable[[str], None]
#: Called with the key id and its new tier.
OnTierChanged = Callable[[str, str], None]


class MessageSource(Protocol):
    """What the listening loop reads: a subscribed ``PubSub`` (or a stand-in in tests)."""

    async def get_message(
        self, *, ignore_subscribe_messages: bool, timeout: float | None
    ) -> dict[str, Any] | None: ...


def revocation_channel(prefix: str) -> str:
    return f"{prefix}revocations"


def publish_revocation(client: sync_redis.Redis, prefix: str, key_id: str) -> int:
    """Tell every node to forget ``key_id``; returns how many listeners received it."""
    return int(client.publish(revocation_channel(prefix), key_id))


def publish_tier_change(client: sync_redis.Redis, prefix: str, key_id: str, tier: str) -> int:
    """Tell every node that ``key_id`` now has ``tier``; returns how many listeners received it."""
    return int(client.publish(revocation_channel(prefix), f"{_TIER_PREFIX}{key_id}:{tier}"))


def call_guarded(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        logger.error("acting on a key change failed", exc_info=True)


class RevocationListener:
    """An async context manager: subscribed on enter, task cancelled and connection closed on exit.

    ``handled`` counts messages applied, and :meth:`wait_handled` lets a test wait for one
    without sleeping.
    """

    __slots__ = (
        "_cache",
        "_changed",
        "_channel",
        "_on_revoked",
        "_on_tier_changed",
        "_pubsub",
        "_redis",
        "_task",
        "handled",
    )

    def __init__(
        self,
        *,
        redis: Redis,
        prefix: str,
        cache: VerificationCache,
        on_revoked: OnRevoked | None = None,
        on_tier_changed: OnTierChanged | None = None,
    ) -> None:
        """
        Args:
            on_revoked: called with each revoked key id after the cache dropped it.
            on_tier_changed: called with a key id and its new tier, after the cache dropped it.
        """
        self._on_revoked = on_revoked
        self._on_tier_changed = on_tier_changed
        self._redis = redis
        self._channel = revocation_channel(prefix)
        self._cache = cache
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.handled = 0

    async def __aenter__(self) -> RevocationListener:
        pubsub = self._redis.pubsub()
        self._pubsub = pubsub
        await pubsub.subscribe(self._channel)
        # Wait for the confirmation so that a revocation published after startup is not missed.
        async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_S):
            while True:
                message = await pubsub.get_message(timeout=_SUBSCRIBE_TIMEOUT_S)
                if message is not None and message.get("type") == "subscribe":
                    break
        self._task = asyncio.get_running_loop().create_task(self._run(pubsub))
        logger.info("listening for key revocations on %s", self._channel)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._pubsub is not None:
            # redis-py leaves PubSub.aclose unannotated; the alias gives it its real type.
            close_pubsub: Callable[[], Awaitable[None]] = self._pubsub.aclose
            await close_pubsub()

    async def wait_handled(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.handled >= count)

    async def _run(self, pubsub: MessageSource) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except RedisError as exc:
                # Messages may have been lost while disconnected: forget everything cached.
                self._cache.clear()
                logger.warning("revocation listener error (%s); cache cleared", type(exc).__name__)
                await asyncio.sleep(_RETRY_DELAY_S)
                continue
            if message is None or message.get("type") != "message":
                continue
            data = message.get("data")
            self._apply(data.decode() if isinstance(data, bytes) else str(data))
            async with self._changed:
                self.handled += 1
                self._changed.notify_all()

    def _apply(self, text: str) -> None:
        if text.startswith(_TIER_PREFIX):
            key_id, _, tier = text[len(_TIER_PREFIX) :].partition(":")
            evicted = self._cache.evict_key(key_id)
            logger.info(
                "key %s now has tier %s; %d cached verification(s) dropped", key_id, tier, evicted
            )
            on_tier_changed = self._on_tier_changed
            if on_tier_changed is not None:
                call_guarded(lambda: on_tier_changed(key_id, tier))
            return
        evicted = self._cache.evict_key(text)
        logger.info("key %s revoked; %d cached verification(s) dropped", text, evicted)
        on_revoked = self._on_revoked
        if on_revoked is not None:
            call_guarded(lambda: on_revoked(text))
