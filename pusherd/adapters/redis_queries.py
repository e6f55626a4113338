"""Reading the cluster's shared state: occupancy, presence members and cache channels.

Every answer sums what all live nodes wrote (see :mod:`pusherd.adapters.redis_scripts`), so any
node answers the HTTP API for the whole cluster.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis

from pusherd.adapters.base import CachedEvent, ChannelStats, is_presence_channel
from pusherd.adapters.redis_scripts import RedisKeys, text_reply
from pusherd.clock import Clock

__all__ = ["SharedState"]

T = TypeVar("T")
Retry = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class SharedState:
    """The queries of the :class:`~pusherd.adapters.base.Adapter` interface, on Redis.

    ``retry`` runs one call, once more on a fresh connection if a pooled one was dead
    (:func:`pusherd.adapters.redis_link.once_more`).
    """

    def __init__(self, *, redis: aioredis.Redis, keys: RedisKeys, clock: Clock, retry: Retry):
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._retry = retry

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        def read() -> Awaitable[list[Any]]:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hvals(self._keys.channel(app_id, "ch", channel))
            pipe.hlen(self._keys.channel(app_id, "pu", channel))
            return pipe.execute()

        counts, users = await self._retry(read)
        user_count = int(users) if is_presence_channel(channel) else None
        return ChannelStats(sum(int(count) for count in counts), user_count)

    async def channels(self, app_id: str, prefix: str) -> dict[str, ChannelStats]:
        occupied = await self._retry(lambda: self._redis.smembers(self._keys.occupied(app_id)))
        names = sorted(name for name in map(text_reply, occupied) if name.startswith(prefix))
        result = {}
        for name in names:
            stats = await self.channel_stats(app_id, name)
            if stats.subscription_count > 0:
                result[name] = stats
        return result

    async def members(self, app_id: str, channel: str) -> dict[str, Any]:
        key = self._keys.channel(app_id, "pr", channel)
        raw = await self._retry(lambda: self._redis.hgetall(key))
        return {text_reply(user): orjson.loads(info) for user, info in raw.items()}

    async def cached_event(self, app_id: str, channel: str) -> CachedEvent | None:
        key = self._keys.channel(app_id, "cache", channel)

        def read() -> Awaitable[list[Any]]:
            pipe = self._redis.pipeline(transaction=False)
            pipe.get(key)
            pipe.pttl(key)
            return pipe.execute()

        frame, ttl_ms = await self._retry(read)
        if frame is None or int(ttl_ms) <= 0:
            return None
        return CachedEvent(frame, self._clock.time() + int(ttl_ms) / 1000)
