"""The Redis feed: events other processes publish for pusherd to deliver (house style §2).

Two kinds of message arrive, and both enter through :class:`~pusherd.publisher.EventPublisher`,
exactly as an HTTP trigger would:

* bus envelopes (:mod:`pusherd.protocol.bus`) on ``{prefix}bus`` — the poller's frames, already
  encoded, carried through untouched;
* Laravel's ``redis`` broadcaster (reference §14.8): ``{"event","data","socket"}`` published on
  ``<laravel prefix><channel>``. ``socket`` leaves the payload (Laravel also leaves it inside
  ``data``; the HTTP driver strips it, so we do too) and excludes that socket.

Malformed messages are logged and dropped; they never stop the feed. A lost Redis connection is
retried with backoff and the subscriptions are made again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pusherd.config import AppConfig
from pusherd.protocol.bus import BusFormatError, decode_bus_message
from pusherd.protocol.channels import classify_channel
from pusherd.protocol.frames import encode_event
from pusherd.publisher import EventPublisher

__all__ = ["RedisFeed", "laravel_frame"]

logger = logging.getLogger("pusherd.redis_feed")


class FeedMessageError(ValueError):
    """A feed message that cannot be delivered; the text says why."""


def laravel_frame(channel: str, message: bytes) -> tuple[bytes, str | None]:
    """The Pusher frame for one Laravel ``RedisBroadcaster`` message, and the socket to skip.

    Raises:
        FeedMessageError: not JSON, no string ``event``, or an invalid channel name.
    """
    if classify_channel(channel, 200) is None:
        raise FeedMessageError(f"invalid channel name {channel[:200]!r}")
    try:
        decoded = orjson.loads(message)
    except orjson.JSONDecodeError:
        raise FeedMessageError("message is not JSON") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("event"), str):
        raise FeedMessageError("message needs a string 'event'")
    data: Any = decoded.get("data")
    if isinstance(data, dict):
        data.pop("socket", None)
    elif data is None or data == []:
        # PHP encodes an empty payload array as [] (§14.8); an object is what listeners expect.
        data = {}
    socket = decoded.get("socket")
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    frame = encode_event(decoded["event"], channel, text)
    return frame, socket if isinstance(socket, str) else None


class RedisFeed:
    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        publisher: EventPublisher,
        apps_by_id: Mapping[str, AppConfig],
        bus_channel: str | None,
        laravel_prefix: str | None,
        laravel_app: AppConfig,
        rng: random.Random,
    ) -> None:
        self._redis = redis
        self._publisher = publisher
        self._apps_by_id = apps_by_id
        # None when the Redis adapter consumes the bus itself (it is its cluster fan-out).
        self._bus_channel = None if bus_channel is None else bus_channel.encode()
        self._laravel_prefix = None if laravel_prefix is None else laravel_prefix.encode()
        self._laravel_app = laravel_app
        self._rng = rng
        self._task: asyncio.Task[None] | None = None
        self.is_subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._redis.aclose()

    def handle(self, redis_channel: bytes, message: bytes) -> None:
        """Deliver one feed message; a bad one is logged and dropped."""
        try:
            if self._bus_channel is not None and redis_channel == self._bus_channel:
                envelope = decode_bus_message(message)
                app = self._apps_by_id.get(envelope.app_id)
                if app is None:
                    raise FeedMessageError(f"unknown app id {envelope.app_id[:40]!r}")
                if classify_channel(envelope.channel, 200) is None:
                    raise FeedMessageError(f"invalid channel name {envelope.channel[:200]!r}")
                self._publisher.publish(
                    app,
                    envelope.channel,
                    envelope.frame,
                    envelope.except_socket_id,
                    local_only=True,
                )
                return
            prefix = self._laravel_prefix
            if prefix is None or not redis_channel.startswith(prefix):
                return
            channel = redis_channel[len(prefix) :].decode(errors="replace")
            frame, socket = laravel_frame(channel, message)
            self._publisher.publish(self._laravel_app, channel, frame, socket, local_only=True)
        except (BusFormatError, FeedMessageError) as exc:
            logger.warning("dropped a feed message on %r: %s", redis_channel[:200], exc)

    async def _run_forever(self) -> None:
        delay_s = 0.1
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.is_subscribed.clear()
                logger.warning("redis feed lost (%s); retrying in %.1f s", exc, delay_s)
                await asyncio.sleep(delay_s * (0.5 + self._rng.random()))
                delay_s = min(delay_s * 2, 5.0)

    async def _consume(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            if self._bus_channel is not None:
                await pubsub.subscribe(self._bus_channel)
            if self._laravel_prefix is not None:
                await pubsub.psubscribe(self._laravel_prefix + b"*")
            self.is_subscribed.set()
            logger.info("redis feed subscribed")
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message["type"] not in ("message", "pmessage"):
                    continue
                channel, data = message["channel"], message["data"]
                if message["type"] == "pmessage" and channel == self._bus_channel:
                    continue  # an empty Laravel prefix matches the bus channel too
                if isinstance(channel, bytes) and isinstance(data, bytes):
                    self.handle(channel, data)
        finally:
            # redis-py leaves PubSub.aclose unannotated; the alias gives it its real type.
            close_pubsub: Callable[[], Awaitable[None]] = pubsub.aclose
            await close_pubsub()
