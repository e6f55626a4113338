"""Which API key authorised a socket: the seam pusherd uses to enforce per-key connection limits.

A browser connects to pusherd before it ever calls the auth endpoint, and the WebSocket carries
no API key (reference §1.1); the first moment the key and the socket meet is a successful
``/broadcasting/auth`` or ``/broadcasting/user-auth`` call for that ``socket_id``. The endpoint
records a :class:`SocketGrant` here; when the socket then subscribes or signs in, pusherd calls
:meth:`GrantRegistry.lookup` with the socket id, counts the key's live sockets against
``max_connections`` and closes an extra one with 4004 (over quota). ``forget`` when it closes.

Grants expire after ``ttl_s``: pusherd reads one within moments of the auth call, so a stale
entry is never needed. With Redis, grants are shared by every node (the auth call and the socket
may land on different nodes); without it they live in this process (the embedded default).
If one socket is authorised by several keys, the latest grant wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from auth.clock import Clock

__all__ = ["DEFAULT_GRANT_TTL_S", "GrantRegistry", "MemoryGrants", "RedisGrants", "SocketGrant"]

logger = logging.getLogger("auth.grants")

DEFAULT_GRANT_TTL_S = 600.0


@dataclass(frozen=True, slots=True)
class SocketGrant:
    """A key's authority over one socket, with the tier limits pusherd needs to enforce."""

    socket_id: str
    key_id: str
    user_id: str
    tier: str
    max_connections: int
    rest_requests_per_minute: int

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "socket_id": self.socket_id,
                "key_id": self.key_id,
                "user_id": self.user_id,
                "tier": self.tier,
                "max_connections": self.max_connections,
                "rest_requests_per_minute": self.rest_requests_per_minute,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> SocketGrant | None:
        """Decode a stored grant; ``None`` for anything unexpected (never raises)."""
        try:
            data = orjson.loads(raw)
            return cls(
                socket_id=str(data["socket_id"]),
                key_id=str(data["key_id"]),
                user_id=str(data["user_id"]),
                tier=str(data["tier"]),
                max_connections=int(data["max_connections"]),
                rest_requests_per_minute=int(data["rest_requests_per_minute"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


class GrantRegistry(Protocol):
    async def record(self, grant: SocketGrant) -> None: ...

    async def lookup(self, socket_id: str) -> SocketGrant | None:
        """The latest grant for ``socket_id`` still within its TTL, else ``None``."""
        ...

    async def forget(self, socket_id: str) -> None: ...


class MemoryGrants:
    """Grants in a dict with monotonic deadlines; expired ones are swept on write."""

    __slots__ = ("_clock", "_entries", "ttl_s")

    def __init__(self, *, clock: Clock, ttl_s: float = DEFAULT_GRANT_TTL_S) -> None:
        self._clock = clock
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[SocketGrant, float]] = {}

    async def record(self, grant: SocketGrant) -> None:
        now = self._clock.monotonic()
        self._entries.pop(grant.socket_id, None)
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest][1] > now:
                break
            del self._entries[oldest]
        self._entries[grant.socket_id] = (grant, now + self.ttl_s)

    async def lookup(self, socket_id: str) -> SocketGrant | None:
        entry = self._entries.get(socket_id)
        if entry is None or entry[1] <= self._clock.monotonic():
            return None
        return entry[0]

    async def forget(self, socket_id: str) -> None:
        self._entries.pop(socket_id, None)

    def __len__(self) -> int:
        return len(self._entries)


class RedisGrants:
    """Grants as ``{prefix}grant:{socket_id}`` strings with a Redis TTL, visible to every node.

    A Redis failure loses a grant rather than failing the auth call: enforcement is then skipped
    for that socket, which the WARNING log makes visible.
    """

    __slots__ = ("_prefix", "_redis", "ttl_s")

    def __init__(self, *, redis: Redis, prefix: str, ttl_s: float = DEFAULT_GRANT_TTL_S) -> None:
        self._redis = redis
        self._prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, socket_id: str) -> str:
        return f"{self._prefix}grant:{socket_id}"

    async def record(self, grant: SocketGrant) -> None:
        try:
            await self._redis.set(
                self._key(grant.socket_id), grant.to_json(), px=int(self.ttl_s * 1000)
            )
        except RedisError as exc:
            logger.warning("could not record a socket grant: %s", type(exc).__name__)

    async def lookup(self, socket_id: str) -> SocketGrant | None:
        try:
            raw = await self._redis.get(self._key(socket_id))
        except RedisError as exc:
            logger.warning("could not read a socket grant: %s", type(exc).__name__)
            return None
        return None if raw is None else SocketGrant.from_json(raw)

    async def forget(self, socket_id: str) -> None:
        try:
            await self._redis.delete(self._key(socket_id))
        except RedisError as exc:
            logger.warning("could not forget a socket grant: %s", type(exc).__name__)
