"""The cluster's one event path: a Redis stream every node, the sender included, reads.

``RedisAdapter.publish`` appends one entry to ``{prefix}events`` (``XADD … MAXLEN ~``); each
node reads the stream from the last entry it delivered and hands every entry to its own
:class:`~pusherd.adapters.local.LocalAdapter`, the same fan-out a single process uses. A
stream, not pub/sub, because a reader that lost its connection (a Redis restart, a paused node,
a network cut) resumes where it stopped instead of missing what was published meanwhile.
Terminate requests (§13.4, and a revoked key's sockets) ride on the same stream, so they reach
a node in order with the events before them.

Entry fields: ``m`` a bus envelope (:mod:`pusherd.protocol.bus`), or ``t`` a terminate request
``{"app":…,"user":…}`` or, for an internal ``#`` channel (a revoked API key's sockets),
``{"app":…,"channel":…}``. A malformed entry is logged and dropped; it never stops the reader.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import redis.asyncio as aioredis

from pusherd.adapters.local import LocalAdapter
from pusherd.protocol.bus import BUS_FIELD, BusFormatError, decode_bus_message

__all__ = ["TERMINATE_FIELD", "EventStream"]

logger = logging.getLogger("pusherd.adapters.redis")

TERMINATE_FIELD = b"t"
#: How long one XREAD waits for entries; bounds how late a stop is noticed.
_BLOCK_MS = 1000


class EventStream:
    def __init__(self, *, redis: aioredis.Redis, prefix: str, local: LocalAdapter) -> None:
        self._redis = redis
        self.stream = f"{prefix}events".encode()
        self._local = local
        #: The id of the last entry delivered; ``None`` until the first read positions it.
        self.last_id: bytes | None = None
        #: Set once this node reads the stream; cleared by the adapter when the link is lost.
        self.is_listening = asyncio.Event()
        #: Set by the adapter's stop: the reader ends at its next wake-up.
        self.is_closed = False

    async def listen(self) -> None:
        """Read and deliver until the connection fails (the caller retries, resuming after
        ``last_id``)."""
        if self.last_id is None:
            # Entries from before this node started were for the sockets of an earlier run.
            newest: Any = await self._redis.xrevrange(self.stream, count=1)
            self.last_id = bytes(newest[0][0]) if newest else b"0-0"
        self.is_listening.set()
        while not self.is_closed:
            replies: Any = await self._redis.xread(
                {self.stream: self.last_id}, count=512, block=_BLOCK_MS
            )
            for _stream, entries in replies or ():
                for entry_id, fields in entries:
                    self.receive(fields)
                    self.last_id = bytes(entry_id)

    def receive(self, fields: dict[bytes, bytes]) -> None:
        """One entry, to this node's sockets."""
        message = fields.get(BUS_FIELD)
        if message is not None:
            try:
                envelope = decode_bus_message(message)
            except BusFormatError as exc:
                logger.warning("dropped a cluster event: %s", exc)
                return
            self._local.publish(
                envelope.app_id, envelope.channel, envelope.frame, envelope.except_socket_id
            )
            return
        request = fields.get(TERMINATE_FIELD)
        try:
            command = orjson.loads(request) if request is not None else None
        except orjson.JSONDecodeError:
            command = None
        app_id = command.get("app") if isinstance(command, dict) else None
        user_id = command.get("user") if isinstance(command, dict) else None
        channel = command.get("channel") if isinstance(command, dict) else None
        if isinstance(app_id, str) and isinstance(user_id, str):
            self._local.terminate_user(app_id, user_id)
        elif isinstance(app_id, str) and isinstance(channel, str) and channel.startswith("#"):
            # Only internal channels (a revoked API key's): no request closes a public one.
            self._local.terminate_channel(app_id, channel)
        else:
            logger.warning("dropped a cluster entry that is neither an event nor a terminate")
