"""What reaches a node from the others: events for its sockets and terminate requests.

Both arrive on pub/sub (``{prefix}cluster``, ``{prefix}control``) and end in the node's own
:class:`~pusherd.adapters.local.LocalAdapter`, the same fan-out and terminate a single process
uses. A malformed message is logged and dropped; it never stops the listener.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import orjson
import redis.asyncio as aioredis

from pusherd.adapters.local import LocalAdapter
from pusherd.protocol.bus import BusFormatError, decode_bus_message

__all__ = ["BusListener"]

logger = logging.getLogger("pusherd.adapters.redis")


class BusListener:
    def __init__(
        self, *, redis: aioredis.Redis, prefix: str, node_id: str, local: LocalAdapter
    ) -> None:
        self._redis = redis
        self.bus = f"{prefix}cluster".encode()
        self.control = f"{prefix}control".encode()
        self._node_id = node_id
        self._local = local
        #: Set while subscribed; cleared by the adapter when the connection is lost.
        self.is_listening = asyncio.Event()

    async def listen(self) -> None:
        """Subscribe and deliver until the connection fails (the caller retries)."""
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.bus, self.control)
            self.is_listening.set()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message["type"] != "message":
                    continue
                if message["channel"] == self.bus:
                    self.on_bus(message["data"])
                else:
                    self.on_control(message["data"])
        finally:
            # redis-py leaves PubSub.aclose unannotated; the alias gives it its real type.
            close_pubsub: Callable[[], Awaitable[None]] = pubsub.aclose
            await close_pubsub()

    def on_bus(self, data: bytes) -> None:
        try:
            envelope = decode_bus_message(data)
        except BusFormatError as exc:
            logger.warning("dropped a bus message: %s", exc)
            return
        if envelope.origin_node == self._node_id:
            return
        self._local.publish(
            envelope.app_id, envelope.channel, envelope.frame, envelope.except_socket_id
        )

    def on_control(self, data: bytes) -> None:
        try:
            command = orjson.loads(data)
        except orjson.JSONDecodeError:
            logger.warning("dropped a control message that is not JSON")
            return
        if isinstance(command, dict) and command.get("op") == "terminate":
            app_id, user_id = command.get("app"), command.get("user")
            if isinstance(app_id, str) and isinstance(user_id, str):
                self._local.terminate_user(app_id, user_id)
