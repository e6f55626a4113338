"""Talking to a Redis that may restart or vanish: one retried call, a task kept running, an outbox.

Used by :class:`pusherd.adapters.redis.RedisAdapter`; kept apart so the adapter holds only what
is shared between nodes, and so each failure rule is written once:

* :func:`once_more` runs a call again on a fresh connection when a pooled one turns out dead
  (Redis restarted since it was used), so a client never sees that;
* :func:`keep_running` restarts a background loop after a Redis error, with jittered backoff
  capped at ``max_delay_s`` (every node is back within about that long of Redis answering);
* :class:`Outbox` holds the writes that need no answer (events, cache writes), so
  ``publish`` stays synchronous and never waits on the network (house style §4); while Redis is
  unreachable they wait there, bounded: past ``max_writes`` the oldest are dropped, counted and
  logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from pusherd.protocol.bus import BUS_MAX_LENGTH

__all__ = ["FAILURES", "Outbox", "Write", "keep_running", "once_more", "stop_tasks"]

logger = logging.getLogger("pusherd.adapters.redis")

T = TypeVar("T")
#: ``(field, stream, value, 0)`` appends ``{field: value}`` to a stream; ``(b"", key, value,
#: ttl_ms)`` sets a key that expires.
Write = tuple[bytes, bytes, bytes, int]
#: Failures that mean "Redis did not (certainly) do it": the caller marks the channel for repair.
FAILURES = (RedisError, OSError)


async def once_more(
    redis: aioredis.Redis, call: Callable[[], Awaitable[T]], on_broken: Callable[[], None]
) -> T:
    """Run one Redis call; on a broken connection, drop the idle pool and run it once more.

    After a Redis restart every pooled connection is dead, and the first command on each
    fails; that must not reach a client as an error. A write retried this way may have run
    twice, so ``on_broken`` hears of it (the adapter re-asserts its state).
    """
    try:
        return await call()
    except RedisConnectionError:
        on_broken()
        await redis.connection_pool.disconnect(inuse_connections=False)
        return await call()


async def keep_running(
    work: Callable[[], Awaitable[None]],
    *,
    rng: random.Random,
    max_delay_s: float,
    on_failure: Callable[[], None],
) -> None:
    """Run ``work`` until it returns; after a Redis error retry it with jittered backoff."""
    loop = asyncio.get_running_loop()
    delay_s = 0.1
    while True:
        started = loop.time()
        try:
            await work()
            return
        except FAILURES as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # redis-py may turn the cancellation of a blocking read into a connection
                # error; the task is being stopped, not disconnected.
                raise asyncio.CancelledError from exc
            on_failure()
            if loop.time() - started > 10 * max_delay_s:
                delay_s = 0.1  # It had worked for a while: this is a new outage.
            logger.warning("Redis adapter: %s; retrying in %.1f s", exc, delay_s)
            await asyncio.sleep(delay_s * (0.5 + rng.random()))
            delay_s = min(delay_s * 2, max_delay_s)


async def stop_tasks(tasks: list[asyncio.Task[None]], *, attempts: int = 10) -> None:
    """Cancel ``tasks`` and wait for them, cancelling again while any is still running.

    redis-py can swallow the cancellation of a blocking read (the loop around it then goes on),
    so one ``cancel()`` is not always enough; the loops also check a closed flag.
    """
    pending = {task for task in tasks if not task.done()}
    for _ in range(attempts):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    if pending:
        logger.error("%d Redis task(s) did not stop", len(pending))


class Outbox:
    """Writes waiting for Redis, sent in pipelined batches by :meth:`drain_forever`."""

    def __init__(self, redis: aioredis.Redis, max_writes: int) -> None:
        self._redis = redis
        self._max_writes = max_writes
        self._writes: deque[Write] = deque()
        self._ready = asyncio.Event()
        #: Writes dropped because the outbox was full (read by the metrics).
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._writes)

    def add(self, write: Write) -> None:
        if len(self._writes) >= self._max_writes:
            self._writes.popleft()
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                logger.warning("Redis outbox full: %d writes dropped so far", self.dropped)
        self._writes.append(write)
        self._ready.set()

    async def flush(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for what is queued to leave."""
        for _ in range(max(1, int(timeout_s / 0.02))):
            if not self._writes:
                return
            await asyncio.sleep(0.02)

    async def drain_forever(self) -> None:
        """Send batches as they come; a batch leaves the queue only once Redis took it."""
        writes = self._writes
        while True:
            await self._ready.wait()
            self._ready.clear()
            while writes:
                batch = [writes[index] for index in range(min(len(writes), 512))]
                pipe = self._redis.pipeline(transaction=False)
                for field, target, value, ttl_ms in batch:
                    if field:
                        pipe.xadd(target, {field: value}, maxlen=BUS_MAX_LENGTH, approximate=True)
                    else:
                        pipe.set(target, value, px=ttl_ms)
                await pipe.execute()
                for _ in batch:
                    writes.popleft()
