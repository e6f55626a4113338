"""The on-demand board between the data API and the poller's orchestrator (issue 11 item 2).

A data API read for a match neither the cache nor the store has never calls the upstream: it
*asks* here, and the sport's loop *takes* the asked ids into its coalesced, quota-guarded queue
(:mod:`poller.orchestrator`), fetches them by id at on-demand priority and records them like
any poll (so the next read finds them in the store). Ids the upstream does not return are
marked *missing* for ``missing_ttl_s``: the API answers 404 for those, 202 while queued.

The loop also posts when its upstream went down (and clears it on the next success), so the API
can serve the last known data with a header saying how stale it is.

Two boards, one contract:

* :class:`MemoryOnDemand` — embedded mode (the poller runs in pusherd's process);
* :class:`RedisOnDemand` — pusherd and a separate poller process. The asked ids are a Redis
  **set** per sport, not a list or stream: asking twice (from any pusherd node) is one member,
  so identical requests coalesce before the poller sees them, and the set's size is the queue
  bound. ``SPOP`` hands each id to exactly one taker. One Lua call per ask (missing? full? add).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as aioredis

from poller.clock import Clock

__all__ = ["Asked", "MemoryOnDemand", "OnDemandBoard", "RedisOnDemand"]

MISSING_TTL_S = 600
MAX_QUEUED = 1_000


class Asked(enum.Enum):
    QUEUED = "queued"
    #: The upstream answered without this match lately: a 404, not worth asking again yet.
    MISSING = "missing"
    #: The queue is at its bound: try later (503).
    FULL = "full"


class OnDemandBoard(Protocol):
    async def ask(self, sport: str, match_id: int) -> Asked: ...

    async def take(self, sport: str, limit: int) -> list[int]: ...

    async def settle(self, sport: str, *, missing: Sequence[int]) -> None: ...

    async def set_down(self, sport: str, since: float | None) -> None: ...

    async def down_since(self, sport: str) -> float | None: ...


class MemoryOnDemand:
    def __init__(
        self, *, clock: Clock, missing_ttl_s: float = MISSING_TTL_S, max_queued: int = MAX_QUEUED
    ) -> None:
        self._clock = clock
        self._missing_ttl_s = missing_ttl_s
        self._max_queued = max_queued
        self._asked: dict[str, dict[int, None]] = {}  # insertion-ordered set
        self._missing: dict[tuple[str, int], float] = {}
        self._down: dict[str, float] = {}

    async def ask(self, sport: str, match_id: int) -> Asked:
        until = self._missing.get((sport, match_id))
        if until is not None:
            if until > self._clock.time():
                return Asked.MISSING
            del self._missing[(sport, match_id)]
        asked = self._asked.setdefault(sport, {})
        if match_id not in asked and len(asked) >= self._max_queued:
            return Asked.FULL
        asked[match_id] = None
        return Asked.QUEUED

    async def take(self, sport: str, limit: int) -> list[int]:
        asked = self._asked.get(sport, {})
        ids = list(asked)[:limit]
        for match_id in ids:
            del asked[match_id]
        return ids

    async def settle(self, sport: str, *, missing: Sequence[int]) -> None:
        until = self._clock.time() + self._missing_ttl_s
        for match_id in missing:
            self._missing[(sport, match_id)] = until

    async def set_down(self, sport: str, since: float | None) -> None:
        if since is None:
            self._down.pop(sport, None)
        else:
            self._down[sport] = since

    async def down_since(self, sport: str) -> float | None:
        return self._down.get(sport)


_ASK = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'missing' end
local queued = redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1
if not queued and redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 'full' end
redis.call('SADD', KEYS[1], ARGV[1])
return 'queued'
"""


class RedisOnDemand:
    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        prefix: str = "pusherd:",
        missing_ttl_s: int = MISSING_TTL_S,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}ondemand:"
        self._missing_ttl_s = missing_ttl_s
        self._max_queued = max_queued
        self._ask = redis.register_script(_ASK)

    def _queue(self, sport: str) -> str:
        return f"{self._prefix}{sport}:asked"

    def _missing(self, sport: str, match_id: int) -> str:
        return f"{self._prefix}{sport}:missing:{match_id}"

    async def ask(self, sport: str, match_id: int) -> Asked:
        keys = [self._queue(sport), self._missing(sport, match_id)]
        answer = await self._ask(keys=keys, args=[match_id, self._max_queued])
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return Asked(text)

    async def take(self, sport: str, limit: int) -> list[int]:
        popped = await self._redis.spop(self._queue(sport), limit)
        return sorted(int(x) for x in popped or [])

    async def settle(self, sport: str, *, missing: Sequence[int]) -> None:
        if not missing:
            return
        pipe = self._redis.pipeline(transaction=False)
        for match_id in missing:
            pipe.set(self._missing(sport, match_id), b"1", ex=self._missing_ttl_s)
        await pipe.execute()

    async def set_down(self, sport: str, since: float | None) -> None:
        key = f"{self._prefix}{sport}:down_since"
        if since is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, repr(since))

    async def down_since(self, sport: str) -> float | None:
        value = await self._redis.get(f"{self._prefix}{sport}:down_since")
        return None if value is None else float(value)
