"""Reading the bus stream in tests: every envelope, oldest first (a stream keeps them)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from pusherd.protocol.bus import BUS_FIELD, BusMessage, bus_stream, decode_bus_message

__all__ = ["bus_messages"]


async def bus_messages(redis: aioredis.Redis, prefix: str) -> list[BusMessage]:
    # redis-py annotates XRANGE's reply as optional strings; with bytes replies it is this.
    entries: Any = await redis.xrange(bus_stream(prefix))
    return [decode_bus_message(fields[BUS_FIELD]) for _, fields in entries]
