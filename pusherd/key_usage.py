"""WebSocket connections per API key, sampled for the usage counts (issue 11 item 7).

pusherd already counts each key's sockets, cluster-wide, as the occupancy of the internal
channel ``#api-key-{key_id}`` (the per-key connection cap, see ``transport.actions``). Once a
minute this sampler reads those occupancies and hands them to the usage counter, which keeps
per key and day the sum of the samples (connection-minutes) and the largest (peak concurrent,
at minute resolution). With Redis, one node per minute takes the sample (``SET NX`` on the
minute), so a cluster does not count each connection once per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pusherd.adapters.base import Adapter

__all__ = ["KEY_CHANNEL_PREFIX", "KeyConnectionSampler"]

logger = logging.getLogger("pusherd.key_usage")
KEY_CHANNEL_PREFIX = "#api-key-"
SAMPLE_EVERY_S = 60.0


class Observer(Protocol):
    def observe_connections(self, key_id: str, count: int) -> None: ...


class Clock(Protocol):
    def time(self) -> float: ...


class KeyConnectionSampler:
    def __init__(
        self,
        *,
        adapter: Adapter,
        app_ids: Sequence[str],
        usage: Observer,
        clock: Clock,
        redis: aioredis.Redis | None = None,
        prefix: str = "pusherd:api:",
        every_s: float = SAMPLE_EVERY_S,
    ) -> None:
        self._adapter = adapter
        self._app_ids = tuple(app_ids)
        self._usage = usage
        self._clock = clock
        self._redis = redis
        self._prefix = prefix
        self._every_s = every_s

    async def _is_mine(self) -> bool:
        """Whether this node samples this minute (always, without Redis)."""
        if self._redis is None:
            return True
        minute = int(self._clock.time() // self._every_s)
        claimed = await self._redis.set(
            f"{self._prefix}ws-sample:{minute}", b"1", nx=True, ex=int(self._every_s * 2)
        )
        return bool(claimed)

    async def sample(self) -> int:
        """One sample; returns how many keys had open connections."""
        try:
            if not await self._is_mine():
                return 0
            seen = 0
            for app_id in self._app_ids:
                channels = await self._adapter.channels(app_id, KEY_CHANNEL_PREFIX)
                for name, stats in channels.items():
                    if stats.subscription_count > 0:
                        key_id = name.removeprefix(KEY_CHANNEL_PREFIX)
                        self._usage.observe_connections(key_id, stats.subscription_count)
                        seen += 1
            return seen
        except (RedisError, OSError) as exc:
            logger.warning("connection sample skipped: %s", exc)
            return 0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(self._every_s)
                await self.sample()

        task = asyncio.get_running_loop().create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
