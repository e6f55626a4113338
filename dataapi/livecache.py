"""The live cache read once per version: parsed JSON reused while the cached bytes are equal.

The poller rewrites a sport's live list every few seconds; the API may read it thousands of
times in between. Parsing it on every read, then sorting and re-encoding it, was most of a
cached read's cost. :class:`ParsedOnce` keeps, per cache key, the last bytes and what they
parsed to, and hands out the *same* object while the bytes are unchanged, so everything
downstream can be memoised by identity (``DataResources.live`` keeps its page, the gate keeps
the encoded body and its ETag). A changed value is a new object, so nothing is ever stale.
Callers must treat what it returns as read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import orjson

__all__ = ["ParsedOnce", "RawCache"]

#: Bound on remembered keys (live lists per sport, standings, single matches).
_MAX_KEYS = 4096


class RawCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...


KeyOf = Callable[..., str]


class ParsedOnce:
    """A :class:`~dataapi.resources.LiveCache` over raw cached bytes, parsing each version once.

    ``key_of(sport, kind, ident=None)`` names the cache entry (the poller's ``cache_key``), so
    this package does not import the poller.
    """

    def __init__(self, cache: RawCache, *, key_of: KeyOf) -> None:
        self._cache = cache
        self._key_of = key_of
        self._memo: dict[str, tuple[bytes, Any]] = {}

    async def _read(self, key: str) -> Any:
        raw = await self._cache.get(key)
        if raw is None:
            self._memo.pop(key, None)
            return None
        last = self._memo.get(key)
        if last is not None and (last[0] is raw or last[0] == raw):
            return last[1]
        value = orjson.loads(raw)
        if len(self._memo) >= _MAX_KEYS and key not in self._memo:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = (raw, value)
        return value

    async def match(self, sport: str, match_id: int) -> dict[str, Any] | None:
        value = await self._read(self._key_of(sport, "match", match_id))
        return value if isinstance(value, dict) else None

    async def live(self, sport: str) -> list[dict[str, Any]] | None:
        value = await self._read(self._key_of(sport, "live"))
        return value if isinstance(value, list) else None

    async def standings(self, sport: str, league: int) -> dict[str, Any] | None:
        value = await self._read(self._key_of(sport, "standings", league))
        return value if isinstance(value, dict) else None
