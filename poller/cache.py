"""A read cache of match data for a later data API, with TTLs by kind of data (issue item 6).

The poller writes, readers read: the latest compact ``match.update`` payload of every match
(the same shape subscribers get, so a client can seed over HTTP and then apply events), the
sport's live list, and the day's fixture list. TTLs follow how fast each kind changes; a status
change invalidates the day's fixture list, which embeds statuses.

Keys (under the configured prefix): ``cache:{sport}:match:{id}``, ``cache:{sport}:live``,
``cache:{sport}:fixtures:{YYYY-MM-DD}``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis

from poller.catalogue import LeagueCatalogue
from poller.clock import Clock
from poller.model import Match, StatusBucket
from poller.payloads import update_payload

__all__ = [
    "TTL_S",
    "CacheKind",
    "DataCache",
    "MemoryCache",
    "RedisCache",
    "cache_entries",
    "cache_key",
]


class CacheKind(enum.Enum):
    LIVE = "live"  # the in-play list: stale within a minute
    MATCH_LIVE = "match_live"
    MATCH_SETTLED = "match_settled"  # finished, postponed, cancelled: hours
    MATCH_SCHEDULED = "match_scheduled"
    FIXTURES = "fixtures"
    TEAMS = "teams"
    LEAGUES = "leagues"


TTL_S: Mapping[CacheKind, int] = {
    CacheKind.LIVE: 45,
    CacheKind.MATCH_LIVE: 60,
    CacheKind.MATCH_SETTLED: 6 * 3600,
    CacheKind.MATCH_SCHEDULED: 30 * 60,
    CacheKind.FIXTURES: 15 * 60,
    CacheKind.TEAMS: 24 * 3600,
    CacheKind.LEAGUES: 24 * 3600,
}


def _kind_of(status: StatusBucket) -> CacheKind:
    if status.is_in_play:
        return CacheKind.MATCH_LIVE
    if status is StatusBucket.SCHEDULED:
        return CacheKind.MATCH_SCHEDULED
    return CacheKind.MATCH_SETTLED


def cache_entries(
    sport: str,
    matches: Iterable[Match],
    changed_ids: set[int],
    catalogue: LeagueCatalogue,
    *,
    now: float,
    is_live_poll: bool,
) -> dict[str, tuple[bytes, int]]:
    """Entries to write after a poll: every changed match, every live one (refreshing its short
    TTL), and after a live poll the sport's live list."""
    entries: dict[str, tuple[bytes, int]] = {}
    live: list[dict[str, Any]] = []
    for match in matches:
        if match.match_id not in changed_ids and not match.status.is_in_play:
            continue
        payload = update_payload(match, catalogue.slug(match.sport, match.league_id), now)
        entries[cache_key(sport, "match", match.match_id)] = (
            orjson.dumps(payload),
            TTL_S[_kind_of(match.status)],
        )
        if match.status.is_in_play:
            live.append(payload)
    if is_live_poll:
        entries[cache_key(sport, "live")] = (orjson.dumps(live), TTL_S[CacheKind.LIVE])
    return entries


def cache_key(sport: str, kind: str, ident: str | int | None = None) -> str:
    return f"cache:{sport}:{kind}" + (f":{ident}" if ident is not None else "")


class DataCache(Protocol):
    async def put_many(self, entries: Mapping[str, tuple[bytes, int]]) -> None:
        """Store ``key → (value, ttl_s)`` in one round trip."""
        ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, *keys: str) -> None: ...


class MemoryCache:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._data: dict[str, tuple[bytes, float]] = {}

    async def put_many(self, entries: Mapping[str, tuple[bytes, int]]) -> None:
        now = self._clock.time()
        for key, (value, ttl_s) in entries.items():
            self._data[key] = (value, now + ttl_s)

    async def get(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None or entry[1] <= self._clock.time():
            self._data.pop(key, None)
            return None
        return entry[0]

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)


class RedisCache:
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "pusherd:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def put_many(self, entries: Mapping[str, tuple[bytes, int]]) -> None:
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for key, (value, ttl_s) in entries.items():
            pipe.set(self._prefix + key, value, ex=ttl_s)
        await pipe.execute()

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        return value if isinstance(value, bytes) or value is None else str(value).encode()

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._prefix + k for k in keys))
