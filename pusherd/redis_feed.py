"""The Redis feed: events other processes publish for pusherd to deliver (house style §2).

Two kinds of message arrive, and both enter through :class:`~pusherd.publisher.EventPublisher`
as local deliveries (every node reads the feed itself), exactly as an HTTP trigger would:

* bus envelopes (:mod:`pusherd.protocol.bus`) from the ``{prefix}bus`` **stream** — the poller's
  frames, already encoded, carried through untouched. The feed remembers the last entry id it
  delivered and reads on from there after a lost connection or a Redis restart, so no change
  published meanwhile is lost;
* Laravel's ``redis`` broadcaster (reference §14.8): ``{"event","data","socket"}`` published on
  ``<laravel prefix><channel>``. ``socket`` leaves the payload (Laravel also leaves it inside
  ``data``; the HTTP driver strips it, so we do too) and excludes that socket. This one is
  pub/sub, as Laravel publishes it.

Malformed messages are logged and dropped; they never stop the feed. A lost Redis connection is
retried with jittered backoff.
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
from pusherd.protocol.bus import BUS_FIELD, BusFormatError, decode_bus_message
from pusherd.protocol.channels import classify_channel
from pusherd.protocol.frames import encode_event
from pusherd.publisher import EventPublisher

__all__ = ["FeedMessageError", "RedisFeed", "laravel_frame"]

logger = logging.getLogger("pusherd.redis_feed")

#: How long one XREAD waits for entries; bounds how late a stop is noticed.
_BLOCK_MS = 1000
#: Room for ``{"event":…,"channel":…,"data":…}`` around the data: a 200-character event name,
#: a 200-character channel and JSON escaping of both.
_FRAME_OVERHEAD_BYTES = 1024


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


def _entries(raw: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Stream entries as redis-py returns them (its annotations are looser than its replies)."""
    return [(bytes(entry_id), dict(fields)) for entry_id, fields in raw]


class RedisFeed:
    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        publisher: EventPublisher,
        apps_by_id: Mapping[str, AppConfig],
        bus_stream: str,
        laravel_prefix: str | None,
        laravel_app: AppConfig,
        rng: random.Random,
    ) -> None:
        self._redis = redis
        self._publisher = publisher
        self._apps_by_id = apps_by_id
        self._bus_stream = bus_stream
        self._laravel_prefix = None if laravel_prefix is None else laravel_prefix.encode()
        self._laravel_app = laravel_app
        self._rng = rng
        #: The id of the last bus entry delivered; reading resumes after it.
        self.last_entry_id = b"$"
        self._tasks: list[asyncio.Task[None]] = []
        #: Set while the Laravel pattern subscription is in place.
        self.is_subscribed = asyncio.Event()

    async def start(self) -> None:
        # Entries appended from now on are ours; older ones belong to an earlier run.
        last = _entries(await self._redis.xrevrange(self._bus_stream, count=1))
        self.last_entry_id = last[0][0] if last else b"0-0"
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._retrying(self._read_bus))]
        if self._laravel_prefix is not None:
            self._tasks.append(loop.create_task(self._retrying(self._read_laravel)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._redis.aclose()

    def deliver_envelope(self, message: bytes) -> None:
        """Deliver one bus envelope; a bad one is logged and dropped."""
        try:
            envelope = decode_bus_message(message)
            app = self._apps_by_id.get(envelope.app_id)
            if app is None:
                raise FeedMessageError(f"unknown app id {envelope.app_id[:40]!r}")
            if classify_channel(envelope.channel, 200) is None:
                raise FeedMessageError(f"invalid channel name {envelope.channel[:200]!r}")
            # The frame is not decoded here, so the data limit is checked with room for the
            # event name, channel and keys around it.
            limit = app.max_data_bytes(envelope.channel) + _FRAME_OVERHEAD_BYTES
            if len(envelope.frame) > limit:
                raise FeedMessageError(f"frame of {len(envelope.frame)} bytes is over {limit}")
        except (BusFormatError, FeedMessageError) as exc:
            logger.warning("dropped a bus entry: %s", exc)
            return
        self._publisher.publish(
            app, envelope.channel, envelope.frame, envelope.except_socket_id, local_only=True
        )

    def deliver_laravel(self, redis_channel: bytes, message: bytes) -> None:
        """Deliver one Laravel broadcast; a bad one is logged and dropped."""
        prefix = self._laravel_prefix
        if prefix is None or not redis_channel.startswith(prefix):
            return
        channel = redis_channel[len(prefix) :].decode(errors="replace")
        try:
            frame, socket = laravel_frame(channel, message)
            limit = self._laravel_app.max_data_bytes(channel) + _FRAME_OVERHEAD_BYTES
            if len(frame) > limit:
                raise FeedMessageError(f"frame of {len(frame)} bytes is over {limit}")
        except FeedMessageError as exc:
            logger.warning("dropped a Laravel broadcast on %r: %s", redis_channel[:200], exc)
            return
        self._publisher.publish(self._laravel_app, channel, frame, socket, local_only=True)

    async def _retrying(self, read: Callable[[], Awaitable[None]]) -> None:
        delay_s = 0.1
        while True:
            try:
                await read()
            except (RedisError, OSError) as exc:
                self.is_subscribed.clear()
                logger.warning("redis feed lost (%s); retrying in %.1f s", exc, delay_s)
                await asyncio.sleep(delay_s * (0.5 + self._rng.random()))
                delay_s = min(delay_s * 2, 5.0)

    async def _read_bus(self) -> None:
        while True:
            replies = await self._redis.xread(
                {self._bus_stream: self.last_entry_id}, count=500, block=_BLOCK_MS
            )
            streams: Any = replies or ()
            for _stream, entries in streams:
                for entry_id, fields in _entries(entries):
                    envelope = fields.get(BUS_FIELD)
                    if envelope is not None:
                        self.deliver_envelope(envelope)
                    else:
                        logger.warning("dropped a bus entry without an envelope")
                    self.last_entry_id = entry_id

    async def _read_laravel(self) -> None:
        assert self._laravel_prefix is not None
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe(self._laravel_prefix + b"*")
            self.is_subscribed.set()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message["type"] != "pmessage":
                    continue
                channel, data = message["channel"], message["data"]
                if isinstance(channel, bytes) and isinstance(data, bytes):
                    self.deliver_laravel(channel, data)
        finally:
            # redis-py leaves PubSub.aclose unannotated; the alias gives it its real type.
            close_pubsub: Callable[[], Awaitable[None]] = pubsub.aclose
            await close_pubsub()
