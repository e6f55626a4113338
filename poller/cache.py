"""A read cache of match data for a later data API, with TTLs by kind of data (issue item 6).

The poller writes, readers read: the latest compact ``match.update`` payload of every match
(the same shape subscribers get, so a client can seed over HTTP and then apply events), the
sport's live list, and the day's fixture list. TTLs follow how fast each kind changes; the fixture
list of a day is rewritten whenever one of its matches changes (a status change included), so
it never shows a stale status and needs no invalidation.

Keys (under the configured prefix): ``cache:{sport}:match:{id}``, ``cache:{sport}:live``,
``cache:{sport}:fixtures:{YYYY-MM-DD}``, and the reference data refreshed on spare quota
(:mod:`poller.reference`): ``cache:{sport}:leagues``, ``cache:{sport}:teams:{league}``,
``cache:{sport}:standings:{league}``, each ``{"sport", "kind", "league", "season",
"fetched_at", "response"}`` where ``response`` is the upstream's array unchanged (upstream
reference §3.5). :class:`CacheReader` is what a later data API reads.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis

from poller.catalogue import LeagueCatalogue
from poller.clock import Clock
from poller.model import Match, StatusBucket
from poller.payloads import update_payload
from poller.refplan import RefKind, Refresh

__all__ = [
    "TTL_S",
    "CacheKind",
    "CacheReader",
    "DataCache",
    "MemoryCache",
    "RedisCache",
    "cache_entries",
    "cache_key",
    "reference_entry",
]


class CacheKind(enum.Enum):
    LIVE = "live"  # the in-play list: stale within a minute
    MATCH_LIVE = "match_live"
    MATCH_SETTLED = "match_settled"  # finished, postponed, cancelled: hours
    MATCH_SCHEDULED = "match_scheduled"
    FIXTURES = "fixtures"
    TEAMS = "teams"  # refreshed every few hours
    LEAGUES = "leagues"  # refreshed daily
    STANDINGS = "standings"  # refreshed every 20 minutes around matches


TTL_S: Mapping[CacheKind, int] = {
    CacheKind.LIVE: 45,
    CacheKind.MATCH_LIVE: 60,
    CacheKind.MATCH_SETTLED: 6 * 3600,
    CacheKind.MATCH_SCHEDULED: 30 * 60,
    CacheKind.FIXTURES: 15 * 60,
    CacheKind.TEAMS: 24 * 3600,
    # Longer than the refresh cadence, so one refresh put off by live work leaves no gap.
    CacheKind.LEAGUES: 30 * 3600,
    # A table is wrong once a result is in; it is also dropped at each final whistle.
    CacheKind.STANDINGS: 60 * 60,
}
_REF_KIND = {
    RefKind.LEAGUES: CacheKind.LEAGUES,
    RefKind.TEAMS: CacheKind.TEAMS,
    RefKind.STANDINGS: CacheKind.STANDINGS,
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
    is_fixtures_poll: bool = False,
) -> dict[str, tuple[bytes, int]]:
    """Entries to write after a poll: every changed match, every live one (refreshing its short
    TTL), after a live poll the sport's live list, and the fixture list (kick-off order) of
    every day with a changed match (of every day after a fixtures poll, so a list whose TTL ran
    out while nothing changed comes back)."""
    entries: dict[str, tuple[bytes, int]] = {}
    live: list[dict[str, Any]] = []
    matches = list(matches)
    by_day: dict[str, list[Match]] = {}
    for match in matches:
        by_day.setdefault(_day(match.start_time), []).append(match)
    changed_days = (
        set(by_day)
        if is_fixtures_poll
        else {_day(m.start_time) for m in matches if m.match_id in changed_ids}
    )
    for day in sorted(changed_days):
        fixtures = sorted(by_day[day], key=lambda m: (m.start_time, m.match_id))
        payloads = [update_payload(m, catalogue.slug(m.sport, m.league_id), now) for m in fixtures]
        entries[cache_key(sport, "fixtures", day)] = (
            orjson.dumps(payloads),
            TTL_S[CacheKind.FIXTURES],
        )
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


def _day(unix_s: float) -> str:
    return datetime.fromtimestamp(int(unix_s), UTC).strftime("%Y-%m-%d")


def cache_key(sport: str, kind: str, ident: str | int | None = None) -> str:
    return f"cache:{sport}:{kind}" + (f":{ident}" if ident is not None else "")


def reference_entry(
    sport: str, request: Refresh, items: list[Any], now: float
) -> tuple[str, bytes, int]:
    """``(key, value, ttl_s)`` for one refreshed piece of reference data."""
    value = {
        "sport": sport,
        "kind": request.kind.value,
        "league": request.league_id,
        "season": request.season,
        "fetched_at": now,
        "response": items,
    }
    key = cache_key(sport, request.kind.value, request.league_id)
    return key, orjson.dumps(value), TTL_S[_REF_KIND[request.kind]]


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


class CacheReader:
    """The read side for a later data API: parsed JSON, or None when absent or expired.

    Reads go through any :class:`DataCache` (Redis in production, memory in the embedded
    mode), so the data API and the poller agree on keys by sharing this class.
    """

    def __init__(self, cache: DataCache) -> None:
        self._cache = cache

    async def _read(self, key: str) -> Any:
        raw = await self._cache.get(key)
        return None if raw is None else orjson.loads(raw)

    async def match(self, sport: str, match_id: int) -> dict[str, Any] | None:
        """The latest compact ``match.update`` payload of one match."""
        value = await self._read(cache_key(sport, "match", match_id))
        return value if isinstance(value, dict) else None

    async def live(self, sport: str) -> list[dict[str, Any]] | None:
        """The compact payloads of the sport's matches in play at the last live poll."""
        value = await self._read(cache_key(sport, "live"))
        return value if isinstance(value, list) else None

    async def fixtures(self, sport: str, day: str) -> list[dict[str, Any]] | None:
        """The compact payloads of the sport's matches on ``day`` (``YYYY-MM-DD``, UTC)."""
        value = await self._read(cache_key(sport, "fixtures", day))
        return value if isinstance(value, list) else None

    async def leagues(self, sport: str) -> dict[str, Any] | None:
        """The host's ``/leagues`` answer (seasons, coverage) with when it was fetched."""
        value = await self._read(cache_key(sport, "leagues"))
        return value if isinstance(value, dict) else None

    async def teams(self, sport: str, league: int) -> dict[str, Any] | None:
        """One league's ``/teams`` answer (current season) with when it was fetched."""
        value = await self._read(cache_key(sport, "teams", league))
        return value if isinstance(value, dict) else None

    async def standings(self, sport: str, league: int) -> dict[str, Any] | None:
        """One league's ``/standings`` answer; None right after a result until refetched."""
        value = await self._read(cache_key(sport, "standings", league))
        return value if isinstance(value, dict) else None
