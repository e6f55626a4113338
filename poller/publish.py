"""Publishers: where routed messages leave the poller.

One method (house style rule 7). Frames are built once per channel with
:func:`pusherd.protocol.frames.encode_event`; nothing downstream re-encodes them.

* :class:`BusPublisher` appends :mod:`pusherd.protocol.bus` envelopes to the ``{prefix}bus``
  stream, the feed every pusherd node reads from its last seen entry (one pipeline round trip
  per batch), so a reconnect or a Redis restart on the pusherd side loses nothing.
* :class:`CallbackPublisher` hands ``(app_id, channel, frame)`` to a callable: the embedded mode,
  where pusherd wires it to its in-process adapter and no Redis is involved.

A failed publish raises :class:`PublishError`; the caller then does not advance its stored state,
so the same changes are detected and published again on the next poll (at-least-once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from poller.routing import Outbound
from pusherd.protocol.bus import BUS_FIELD, BUS_MAX_LENGTH, bus_stream, encode_bus_message
from pusherd.protocol.frames import encode_event

__all__ = ["BusPublisher", "CallbackPublisher", "PublishError", "Publisher"]

logger = logging.getLogger("poller.publish")


class PublishError(RuntimeError):
    """The messages could not be handed to pusherd; nothing may be assumed delivered."""


class Publisher(Protocol):
    async def publish(self, messages: Sequence[Outbound]) -> None:
        """Deliver ``messages`` in order.

        Raises:
            PublishError: the transport failed.
        """
        ...


class BusPublisher:
    def __init__(
        self, *, redis: aioredis.Redis, app_id: str = "1", prefix: str = "pusherd:"
    ) -> None:
        self._redis = redis
        self._app_id = app_id
        self._stream = bus_stream(prefix)

    async def publish(self, messages: Sequence[Outbound]) -> None:
        if not messages:
            return
        pipe = self._redis.pipeline(transaction=False)
        for message in messages:
            frame = encode_event(message.event, message.channel, message.data)
            envelope = encode_bus_message(self._app_id, message.channel, frame)
            pipe.xadd(self._stream, {BUS_FIELD: envelope}, maxlen=BUS_MAX_LENGTH, approximate=True)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            raise PublishError(f"redis publish failed: {exc}") from exc


class CallbackPublisher:
    def __init__(self, *, deliver: Callable[[str, str, bytes], None], app_id: str = "1") -> None:
        self._deliver = deliver
        self._app_id = app_id

    async def publish(self, messages: Sequence[Outbound]) -> None:
        for message in messages:
            frame = encode_event(message.event, message.channel, message.data)
            try:
                self._deliver(self._app_id, message.channel, frame)
            except Exception as exc:
                raise PublishError(f"in-process delivery failed: {exc}") from exc
