"""The last published state of every match, kept across restarts.

Saved only *after* a batch of changes was handed to pusherd, so a restart re-detects (and
re-sends) at most the last unconfirmed batch and never skips what happened while the poller was
down: the next poll is diffed against the last state subscribers actually got. Memory is the
embedded default; Redis keeps one hash per sport (``{prefix}snapshots:{sport}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from poller.detect import MatchState
from poller.model import EventType, Match, MatchEvent, StatusBucket, Team

__all__ = [
    "MemorySnapshots",
    "RedisSnapshots",
    "SnapshotStore",
    "decode_state",
    "encode_state",
]

#: Snapshots outlive a weekend of downtime, then expire on their own.
TTL_S = 3 * 86_400


class SnapshotStore(Protocol):
    async def load(self, sport: str) -> dict[int, MatchState]: ...

    async def save(self, sport: str, states: Sequence[MatchState]) -> None: ...

    async def drop(self, sport: str, match_ids: Iterable[int]) -> None: ...


def _event(e: MatchEvent) -> list[Any]:
    return [
        e.key,
        e.event_type.value,
        e.team_id,
        e.player_id,
        e.player_name,
        e.assist_name,
        e.elapsed,
        e.extra,
        e.detail,
        e.comments,
        e.event_id,
    ]


def encode_state(state: MatchState) -> bytes:
    m = state.match
    return orjson.dumps(
        {
            "v": 1,
            "match_id": m.match_id,
            "sport": m.sport,
            "league_id": m.league_id,
            "league_name": m.league_name,
            "season": m.season,
            "status": m.status.value,
            "status_short": m.status_short,
            "home": [m.home.id, m.home.name, m.home.score],
            "away": [m.away.id, m.away.name, m.away.score],
            "period": m.period,
            "clock": m.clock,
            "elapsed": m.elapsed,
            "start_time": m.start_time,
            "events": [_event(e) for e in m.events],
            "details": m.details,
            "seen": sorted(state.seen_ids),
        }
    )


def decode_state(raw: bytes) -> MatchState:
    """Raises ValueError (orjson's decode error is one) or KeyError on a corrupt snapshot."""
    d = orjson.loads(raw)
    events = tuple(
        MatchEvent(
            key=e[0],
            event_type=EventType(e[1]),
            team_id=e[2],
            player_id=e[3],
            player_name=e[4],
            assist_name=e[5],
            elapsed=e[6],
            extra=e[7],
            detail=e[8],
            comments=e[9],
            event_id=e[10],
        )
        for e in d["events"]
    )
    match = Match(
        match_id=d["match_id"],
        sport=d["sport"],
        league_id=d["league_id"],
        league_name=d["league_name"],
        season=d["season"],
        status=StatusBucket(d["status"]),
        status_short=d["status_short"],
        home=Team(*d["home"]),
        away=Team(*d["away"]),
        period=d["period"],
        clock=d["clock"],
        elapsed=d["elapsed"],
        start_time=d["start_time"],
        events=events,
        details=d["details"],
    )
    return MatchState(match, frozenset(d["seen"]))


class MemorySnapshots:
    """In-process store (embedded mode): survives poller restarts within one process."""

    def __init__(self) -> None:
        self._data: dict[str, dict[int, bytes]] = {}

    async def load(self, sport: str) -> dict[int, MatchState]:
        return {k: decode_state(v) for k, v in self._data.get(sport, {}).items()}

    async def save(self, sport: str, states: Sequence[MatchState]) -> None:
        table = self._data.setdefault(sport, {})
        for state in states:
            table[state.match.match_id] = encode_state(state)

    async def drop(self, sport: str, match_ids: Iterable[int]) -> None:
        table = self._data.get(sport, {})
        for match_id in match_ids:
            table.pop(match_id, None)


class RedisSnapshots:
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "pusherd:") -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, sport: str) -> str:
        return f"{self._prefix}snapshots:{sport}"

    async def load(self, sport: str) -> dict[int, MatchState]:
        raw = await self._redis.hgetall(self._key(sport))
        return {
            int(k): decode_state(v if isinstance(v, bytes) else v.encode()) for k, v in raw.items()
        }

    async def save(self, sport: str, states: Sequence[MatchState]) -> None:
        if not states:
            return
        mapping: dict[FieldT, EncodableT] = {str(s.match.match_id): encode_state(s) for s in states}
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._key(sport), mapping=mapping)
        pipe.expire(self._key(sport), TTL_S)
        await pipe.execute()

    async def drop(self, sport: str, match_ids: Iterable[int]) -> None:
        fields = [str(i) for i in match_ids]
        if fields:
            await self._redis.hdel(self._key(sport), *fields)
