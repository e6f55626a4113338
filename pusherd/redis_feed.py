"""The Redis feed: events other processes publish for pusherd to deliver (house style §2).

Each message is taken by **one** node, which publishes it like an HTTP trigger
(:meth:`~pusherd.publisher.EventPublisher.publish`, the one dispatch path): with many nodes it
then crosses Redis once more, on the cluster's event stream, to every node. Two kinds arrive:

* bus envelopes (:mod:`pusherd.protocol.bus`) from the ``{prefix}bus`` **stream** — the poller's
  frames, already encoded, carried through untouched. The nodes read it as one consumer group
  (``pusherd``): each entry goes to one node, is acknowledged once published, and an entry a
  node took and never acknowledged (it died) is claimed by another after ``claim_idle_s``. The
  group's position lives in Redis, so after a lost connection, a node restart or a Redis
  restart (the group is created again) no change published meanwhile is lost;
* Laravel's ``redis`` broadcaster (reference §14.8): ``{"event","data","socket"}`` published on
  ``<laravel prefix><channel>``. ``socket`` leaves the payload (Laravel also leaves it inside
  ``data``; the HTTP driver strips it, so we do too) and excludes that socket. Laravel publishes
  on pub/sub, which every subscriber hears, so only the node holding a short lease
  (``{prefix}laravel-reader``, renewed every second) subscribes; when it dies another takes the
  lease within ``lease_s``.

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
from redis.exceptions import RedisError, ResponseError

from pusherd.adapters.redis_link import stop_tasks
from pusherd.config import AppConfig
from pusherd.protocol.bus import BUS_FIELD, BusFormatError, decode_bus_message
from pusherd.protocol.channels import classify_channel
from pusherd.protocol.frames import encode_event
from pusherd.publisher import EventPublisher

__all__ = ["FeedMessageError", "RedisFeed", "laravel_frame"]

logger = logging.getLogger("pusherd.redis_feed")

#: How long one XREADGROUP waits for entries; bounds how late a stop is noticed.
_BLOCK_MS = 1000
#: The consumer group of every pusherd node on the poller's stream.
GROUP = "pusherd"
#: Take the Laravel lease if free, or renew it if ours: KEYS lease · ARGV node, ttl ms → 1 held.
_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
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


def _stream_position(entry_id: bytes) -> tuple[int, int]:
    """A stream id ``<ms>-<seq>`` as a comparable pair."""
    milliseconds, _, sequence = entry_id.partition(b"-")
    return int(milliseconds), int(sequence or b"0")


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
        node_id: str,
        lease_key: str,
        claim_idle_s: float = 10.0,
        lease_s: float = 3.0,
        owns_redis: bool = False,
    ) -> None:
        self._redis = redis
        self._node_id = node_id
        self._lease_key = lease_key
        self._claim_idle_ms = int(claim_idle_s * 1000)
        self._lease_ms = int(lease_s * 1000)
        self._owns_redis = owns_redis
        self._lease: Any = None
        self._is_closed = False
        self._publisher = publisher
        self._apps_by_id = apps_by_id
        self._bus_stream = bus_stream
        self._laravel_prefix = None if laravel_prefix is None else laravel_prefix.encode()
        self._laravel_app = laravel_app
        self._rng = rng
        self._tasks: list[asyncio.Task[None]] = []
        #: The newest bus entry this node delivered (stream ids only grow).
        self._delivered_up_to: tuple[int, int] = (0, 0)
        #: Set while the Laravel pattern subscription is in place.
        self.is_subscribed = asyncio.Event()

    async def start(self) -> None:
        # The first node creates the group at the end: older entries belong to an earlier run.
        await self._create_group(b"$")
        self._lease = self._redis.register_script(_LEASE)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._retrying(self._read_bus))]
        if self._laravel_prefix is not None:
            self._tasks.append(loop.create_task(self._retrying(self._read_laravel)))

    async def stop(self) -> None:
        self._is_closed = True
        await stop_tasks(self._tasks)
        self._tasks = []
        if self._owns_redis:
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
        self._publisher.publish(app, envelope.channel, envelope.frame, envelope.except_socket_id)

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
        self._publisher.publish(self._laravel_app, channel, frame, socket)

    async def _retrying(self, read: Callable[[], Awaitable[None]]) -> None:
        delay_s = 0.1
        while not self._is_closed:
            try:
                await read()
            except (RedisError, OSError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from exc  # a stop, not a lost link
                self.is_subscribed.clear()
                logger.warning("redis feed lost (%s); retrying in %.1f s", exc, delay_s)
                await asyncio.sleep(delay_s * (0.5 + self._rng.random()))
                delay_s = min(delay_s * 2, 5.0)

    async def _create_group(self, start_id: bytes) -> None:
        try:
            await self._redis.xgroup_create(self._bus_stream, GROUP, id=start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read_bus(self) -> None:
        """This node's own unacknowledged entries first (it lost its link mid-batch), then new
        ones and those a dead node left, each acknowledged once published."""
        pending = b"0"
        while not self._is_closed:
            try:
                replies: Any = await self._redis.xreadgroup(
                    GROUP,
                    self._node_id,
                    {self._bus_stream: pending or b">"},
                    count=500,
                    block=None if pending else _BLOCK_MS,
                )
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis restarted without the stream: everything in the new one is unread.
                logger.warning("the bus consumer group is gone (Redis restarted?): creating it")
                await self._create_group(b"0")
                continue
            entries = [entry for _stream, batch in replies or () for entry in _entries(batch)]
            if pending and not entries:
                pending = b""
            # Own pending entries up to the last one delivered were delivered already; only
            # their acknowledgement was lost with the link: acknowledge, never deliver twice.
            await self._deliver_entries(
                entries, skip_through=self._delivered_up_to if pending else None
            )
            if pending and entries:
                pending = entries[-1][0]
            if not pending:
                await self._claim_abandoned()

    async def _claim_abandoned(self) -> None:
        """Entries another node took and left unacknowledged for ``claim_idle_s`` (it died)."""
        reply: Any = await self._redis.xautoclaim(
            self._bus_stream, GROUP, self._node_id, self._claim_idle_ms, count=100
        )
        claimed = _entries(entry for entry in reply[1] if entry and entry[1] is not None)
        if claimed:
            logger.warning(
                "took over %d bus entries a stopped node had not delivered", len(claimed)
            )
            await self._deliver_entries(claimed)

    async def _deliver_entries(
        self,
        entries: list[tuple[bytes, dict[bytes, bytes]]],
        *,
        skip_through: tuple[int, int] | None = None,
    ) -> None:
        for entry_id, fields in entries:
            position = _stream_position(entry_id)
            if skip_through is not None and position <= skip_through:
                continue
            self._delivered_up_to = max(self._delivered_up_to, position)
            envelope = fields.get(BUS_FIELD)
            if envelope is not None:
                self.deliver_envelope(envelope)
            else:
                logger.warning("dropped a bus entry without an envelope")
        if entries:
            await self._redis.xack(self._bus_stream, GROUP, *(entry_id for entry_id, _ in entries))

    async def _holds_lease(self) -> bool:
        keys, args = [self._lease_key], [self._node_id, self._lease_ms]
        return int(await self._lease(keys=keys, args=args)) == 1

    async def _read_laravel(self) -> None:
        """Subscribed only while this node holds the lease; renewed about every second."""
        assert self._laravel_prefix is not None
        pubsub = self._redis.pubsub()
        loop = asyncio.get_running_loop()
        try:
            while not self._is_closed:
                if not await self._holds_lease():
                    if self.is_subscribed.is_set():
                        await pubsub.punsubscribe()
                        self.is_subscribed.clear()
                    await asyncio.sleep(self._lease_ms / 3000)
                    continue
                if not self.is_subscribed.is_set():
                    await pubsub.psubscribe(self._laravel_prefix + b"*")
                    self.is_subscribed.set()
                renew_at = loop.time() + self._lease_ms / 3000
                while loop.time() < renew_at:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=max(0.0, renew_at - loop.time())
                    )
                    if message is None or message["type"] != "pmessage":
                        continue
                    channel, data = message["channel"], message["data"]
                    if isinstance(channel, bytes) and isinstance(data, bytes):
                        self.deliver_laravel(channel, data)
        finally:
            self.is_subscribed.clear()
            # redis-py leaves PubSub.aclose unannotated; the alias gives it its real type.
            close_pubsub: Callable[[], Awaitable[None]] = pubsub.aclose
            await close_pubsub()
