"""Usage, counted (issue 11 item 7): requests per key per endpoint per day, bytes served, 429s.

Counting is an in-process dict increment on the request path (no I/O); a flusher moves the
counts to the :class:`UsageSink` every few seconds in one Redis pipeline, and once more when
the server stops, so a clean shutdown (SIGTERM) loses nothing. A failed flush puts the counts
back for the next one. In Redis the day's counts of a key live in one hash,
``{prefix}usage:{YYYY-MM-DD}:{key_id}``, fields ``requests:{endpoint}``, ``bytes:{endpoint}`` and
``refused`` (429s), ``ws_connection_minutes`` and ``ws_peak`` (WebSocket connections of the
key, sampled once a minute: the sum of the samples and the largest); they expire after
:data:`KEEP_DAYS`. :mod:`dataapi.usage_sql` rolls the day's totals into SQL hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = [
    "KEEP_DAYS",
    "MINUTES_FIELD",
    "PEAK_FIELD",
    "MemoryUsageSink",
    "RedisUsageSink",
    "UsageCounter",
    "UsageSink",
]

logger = logging.getLogger("dataapi.usage")
KEEP_DAYS = 35

#: ``(day, key_id) → field → count``
Counts = dict[tuple[str, str], Counter[str]]
#: ``(day, key_id) → the largest sample`` (kept as the ``ws_peak`` field)
Peaks = Mapping[tuple[str, str], int]
PEAK_FIELD = "ws_peak"
MINUTES_FIELD = "ws_connection_minutes"

# KEYS[1] the hash; ARGV[1] field, ARGV[2] value: the field becomes the larger of the two.
_MAX = """
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > old then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""


class UsageSink(Protocol):
    async def add(
        self, counts: Mapping[tuple[str, str], Mapping[str, int]], peaks: Peaks | None = None
    ) -> None:
        """Add ``counts`` to the totals and raise peaks, in one round trip (raises on failure)."""
        ...

    async def read(self, day: str, key_id: str) -> dict[str, int]: ...

    async def scan(self, day: str) -> dict[str, dict[str, int]]:
        """Every key's totals of ``day``: key id → field → value."""
        ...


class MemoryUsageSink:
    def __init__(self) -> None:
        self._totals: Counts = {}

    async def add(
        self, counts: Mapping[tuple[str, str], Mapping[str, int]], peaks: Peaks | None = None
    ) -> None:
        for where, fields in counts.items():
            self._totals.setdefault(where, Counter()).update(fields)
        for where, peak in (peaks or {}).items():
            totals = self._totals.setdefault(where, Counter())
            totals[PEAK_FIELD] = max(totals[PEAK_FIELD], peak)

    async def read(self, day: str, key_id: str) -> dict[str, int]:
        return dict(self._totals.get((day, key_id), {}))

    async def scan(self, day: str) -> dict[str, dict[str, int]]:
        return {key: dict(fields) for (d, key), fields in self._totals.items() if d == day}


class RedisUsageSink:
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "pusherd:api:") -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, day: str, key_id: str) -> str:
        return f"{self._prefix}usage:{day}:{key_id}"

    async def add(
        self, counts: Mapping[tuple[str, str], Mapping[str, int]], peaks: Peaks | None = None
    ) -> None:
        if not counts and not peaks:
            return
        pipe = self._redis.pipeline(transaction=False)
        for (day, key_id), fields in counts.items():
            key = self._key(day, key_id)
            for field, amount in fields.items():
                pipe.hincrby(key, field, amount)
            pipe.expire(key, KEEP_DAYS * 86_400)
        for (day, key_id), peak in (peaks or {}).items():
            key = self._key(day, key_id)
            pipe.eval(_MAX, 1, key, PEAK_FIELD, peak)
            pipe.expire(key, KEEP_DAYS * 86_400)
        await pipe.execute()

    async def read(self, day: str, key_id: str) -> dict[str, int]:
        raw = await self._redis.hgetall(self._key(day, key_id))
        return {_text(k): int(v) for k, v in raw.items()}

    async def scan(self, day: str) -> dict[str, dict[str, int]]:
        head = self._key(day, "")
        found: dict[str, dict[str, int]] = {}
        async for name in self._redis.scan_iter(match=head + "*", count=500):
            key = _text(name)
            found[key[len(head) :]] = await self.read(day, key[len(head) :])
        return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Clock(Protocol):
    def time(self) -> float: ...


class UsageCounter:
    def __init__(self, *, sink: UsageSink, clock: Clock, flush_every_s: float = 5.0) -> None:
        self._sink = sink
        self._clock = clock
        self._flush_every_s = flush_every_s
        self._counts: Counts = {}
        self._peaks: dict[tuple[str, str], int] = {}
        self._names: dict[str, tuple[str, str]] = {}
        self._day: tuple[int, str] = (-1, "")

    def _today(self) -> str:
        day_number = int(self._clock.time()) // 86_400
        if day_number != self._day[0]:  # formatted once a day, not once a request
            text = datetime.fromtimestamp(day_number * 86_400, UTC).strftime("%Y-%m-%d")
            self._day = (day_number, text)
        return self._day[1]

    def count(self, key_id: str, endpoint: str, *, status: int, body_bytes: int) -> None:
        """One answered request (no I/O: this is on every request's path)."""
        where = (self._today(), key_id)
        fields = self._counts.get(where)
        if fields is None:
            fields = self._counts[where] = Counter()
        names = self._names.get(endpoint)
        if names is None:  # the field names of an endpoint, built once
            names = self._names[endpoint] = (f"requests:{endpoint}", f"bytes:{endpoint}")
        fields[names[0]] += 1
        fields[names[1]] += body_bytes
        if status == 429:
            fields["refused"] += 1

    def observe_connections(self, key_id: str, count: int) -> None:
        """One minute's sample of the key's open WebSocket connections (no I/O)."""
        where = (self._today(), key_id)
        self._counts.setdefault(where, Counter())[MINUTES_FIELD] += count
        self._peaks[where] = max(self._peaks.get(where, 0), count)

    async def flush(self) -> None:
        counts, self._counts = self._counts, {}
        peaks, self._peaks = self._peaks, {}
        try:
            await self._sink.add(counts, peaks)
        except (RedisError, OSError) as exc:
            logger.warning("usage flush failed, kept for the next one: %s", exc)
            for where, fields in counts.items():
                self._counts.setdefault(where, Counter()).update(fields)
            for where, peak in peaks.items():
                self._peaks[where] = max(self._peaks.get(where, 0), peak)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Flush periodically while open, and once more on the way out."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(self._flush_every_s)
                await self.flush()

        task = asyncio.get_running_loop().create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.flush()
