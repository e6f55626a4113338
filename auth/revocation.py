"""Revocations reach every node's verification cache through Redis pub/sub.

The CLI (another process) revokes or rotates a key in the database and publishes the key id on
``{prefix}revocations``; each node's :class:`RevocationListener` evicts that key from its cache
at once, so with Redis a revocation takes effect within the pub/sub delivery time. Pub/sub is
fire-and-forget: a node that was disconnected misses messages, so on any listener error the
whole cache is cleared, and the cache TTL still bounds anything else (see ``auth.cache``).
Only the public key id travels, never the key. ``on_revoked`` lets the host act on it too:
pusherd closes the sockets the key authorised (``pusherd.embedded``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

import anyio.to_thread
import redis as sync_redis
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from auth.cache import VerificationCache
from auth.clock import Clock
from auth.errors import KeyStoreError

__all__ = [
    "RevocationListener",
    "RevocationPoller",
    "RevocationSource",
    "publish_revocation",
    "revocation_channel",
]

logger = logging.getLogger("auth.revocation")

#: Seconds to wait for Redis to confirm the subscription before serving.
_SUBSCRIBE_TIMEOUT_S = 5.0
_RETRY_DELAY_S = 1.0


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
        on_revoked: Callable[[str], None] | None = None,
    ) -> None:
        """
        Args:
            on_revoked: called with each revoked key id after the cache dropped it.
        """
        self._on_revoked = on_revoked
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
            key_id = data.decode() if isinstance(data, bytes) else str(data)
            evicted = self._cache.evict_key(key_id)
            logger.info("key %s revoked; %d cached verification(s) dropped", key_id, evicted)
            if self._on_revoked is not None:
                try:
                    self._on_revoked(key_id)
                except Exception:
                    logger.error("acting on a key revocation failed", exc_info=True)
            async with self._changed:
                self.handled += 1
                self._changed.notify_all()


class RevocationSource(Protocol):
    """What the poller reads: :meth:`auth.sql.SqlKeyStore.revoked_since`."""

    def revoked_since(self, since: datetime) -> list[tuple[str, datetime]]: ...


class RevocationPoller:
    """Without Redis: ask the database every ``interval_s`` which keys were revoked lately.

    The CLI is another process and cannot reach a node without Redis; this bounds how long a
    revoked key's open sockets and cached verifications survive to about ``interval_s``. It reads
    a sliding window of ``window_s`` (so a revocation committed a little after its timestamp is
    not missed) and acts once per revocation. An async context manager, like the listener.
    """

    __slots__ = (
        "_cache",
        "_clock",
        "_handled",
        "_interval_s",
        "_on_revoked",
        "_source",
        "_task",
        "_window_s",
    )

    def __init__(
        self,
        *,
        source: RevocationSource,
        cache: VerificationCache,
        clock: Clock,
        interval_s: float,
        on_revoked: Callable[[str], None] | None = None,
        window_s: float = 60.0,
    ) -> None:
        self._source = source
        self._cache = cache
        self._clock = clock
        self._interval_s = interval_s
        self._on_revoked = on_revoked
        self._window_s = window_s
        self._handled: dict[tuple[str, datetime], None] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RevocationPoller:
        # Revocations older than the start need no action: the keys are refused anyway and no
        # socket of this process predates it.
        start = self._wall_now()
        for key_id, revoked_at in await self._query():
            if revoked_at <= start:
                self._handled[(key_id, revoked_at)] = None
        self._task = asyncio.get_running_loop().create_task(self._run())
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

    async def _query(self) -> list[tuple[str, datetime]]:
        since = self._wall_now() - timedelta(seconds=self._window_s)
        try:
            return await anyio.to_thread.run_sync(self._source.revoked_since, since)
        except KeyStoreError as exc:
            logger.warning("revocation poll failed: %s", exc)
            return []

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            horizon = self._wall_now() - timedelta(seconds=2 * self._window_s)
            for seen in [seen for seen in self._handled if seen[1] < horizon]:
                del self._handled[seen]
            for key_id, revoked_at in await self._query():
                if (key_id, revoked_at) in self._handled:
                    continue
                self._handled[(key_id, revoked_at)] = None
                self._cache.evict_key(key_id)
                logger.info("key %s revoked (seen in the database)", key_id)
                if self._on_revoked is not None:
                    try:
                        self._on_revoked(key_id)
                    except Exception:
                        logger.error("acting on a key revocation failed", exc_info=True)

    def _wall_now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), UTC)
