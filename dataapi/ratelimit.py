"""Tier rate limits: a token bucket per API key (issue 11 item 6).

A key of a tier with ``N`` requests per minute holds at most ``N`` tokens and gains ``N/60`` a
second; a request takes one. With Redis the whole read-refill-take-write is one Lua script (one
round trip, atomic on the server, timed by the server's own clock), so every pusherd node
shares one exact bucket per key; without Redis the same arithmetic runs in memory. Header
fields follow draft-ietf-httpapi-ratelimit-headers: ``RateLimit-Limit``/``-Remaining``/``-Reset``
and the combined ``RateLimit`` / ``RateLimit-Policy`` forms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from dataapi.errors import Unavailable

__all__ = [
    "MemoryRateLimiter",
    "RateDecision",
    "RateLimiter",
    "RawRateHeaders",
    "RedisRateLimiter",
    "rate_headers",
    "refill",
]

WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class RateDecision:
    is_allowed: bool
    limit: int
    tokens: float  # left after this request

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def reset_s(self) -> int:
        """Seconds until the bucket is full again."""
        return math.ceil((self.limit - self.tokens) * WINDOW_S / self.limit) if self.limit else 0

    @property
    def retry_after_s(self) -> int:
        """Seconds until one token is back (for a refused request)."""
        return max(1, math.ceil((1 - self.tokens) * WINDOW_S / self.limit)) if self.limit else 60


def refill(tokens: float, elapsed_s: float, limit: int) -> float:
    return min(float(limit), tokens + max(0.0, elapsed_s) * limit / WINDOW_S)


class RateLimiter(Protocol):
    async def take(self, key_id: str, limit: int) -> RateDecision: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...


class MemoryRateLimiter:
    """One process's buckets; idle ones (full again) are dropped when the map grows."""

    def __init__(self, *, clock: Clock, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    async def take(self, key_id: str, limit: int) -> RateDecision:
        now = self._clock.monotonic()
        tokens, at = self._buckets.get(key_id, (float(limit), now))
        tokens = refill(tokens, now - at, limit)
        is_allowed = tokens >= 1
        if is_allowed:
            tokens -= 1
        if len(self._buckets) >= self._max_keys and key_id not in self._buckets:
            self._evict_full(now)
        self._buckets[key_id] = (tokens, now)
        return RateDecision(is_allowed, limit, tokens)

    def _evict_full(self, now: float) -> None:
        """A bucket untouched for a window is full again: forgetting it changes nothing."""
        for key, (_, at) in list(self._buckets.items()):
            if now - at >= WINDOW_S:
                del self._buckets[key]


# KEYS[1] bucket hash; ARGV[1] limit per minute. Time is the server's (TIME), so nodes with
# skewed clocks still share one bucket; the hash expires once it would be full again.
_TAKE = """
local limit = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = limit
  at = now
end
local rate = limit / 60000
tokens = math.min(limit, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((limit - tokens) / rate) + 1000)
return {allowed, string.format('%.6f', tokens)}
"""


class RedisRateLimiter:
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "pusherd:api:") -> None:
        self._prefix = prefix
        self._script: Any = redis.register_script(_TAKE)

    async def take(self, key_id: str, limit: int) -> RateDecision:
        try:
            allowed, tokens = await self._script(keys=[f"{self._prefix}rl:{key_id}"], args=[limit])
        except (RedisError, OSError) as exc:
            raise Unavailable("the rate limiter cannot be reached") from exc
        return RateDecision(bool(allowed), limit, float(tokens))


def rate_headers(decision: RateDecision, policy_name: str) -> dict[str, str]:
    """Both header forms: the three fields and the combined structured ones."""
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_s),
        "RateLimit-Policy": f'"{policy_name}";q={decision.limit};w={WINDOW_S}',
        "RateLimit": f'"{policy_name}";r={decision.remaining};t={decision.reset_s}',
    }


class RawRateHeaders:
    """:func:`rate_headers` as ASGI header lines, the per-tier parts encoded once."""

    def __init__(self) -> None:
        self._static: dict[tuple[str, int], tuple[tuple[bytes, bytes], tuple[bytes, bytes]]] = {}
        self._names: dict[str, bytes] = {}

    def __call__(self, decision: RateDecision, policy_name: str) -> list[tuple[bytes, bytes]]:
        static = self._static.get((policy_name, decision.limit))
        if static is None:
            if len(self._static) > 1024:
                self._static.clear()
            static = (
                (b"ratelimit-limit", str(decision.limit).encode()),
                (
                    b"ratelimit-policy",
                    f'"{policy_name}";q={decision.limit};w={WINDOW_S}'.encode(),
                ),
            )
            self._static[(policy_name, decision.limit)] = static
        remaining = decision.remaining
        reset = decision.reset_s
        return [
            static[0],
            (b"ratelimit-remaining", b"%d" % remaining),
            (b"ratelimit-reset", b"%d" % reset),
            static[1],
            (b"ratelimit", b'"%s";r=%d;t=%d' % (policy_name.encode(), remaining, reset)),
        ]
