"""A Redis lease per sport: one poller per deployment, however many processes run it.

Every pusherd process (each worker, each node) may run the embedded poller; for each sport, only
the holder of ``{prefix}poller:lease:{sport}`` polls. The holder renews the lease every third of
its time to live; if the holder dies, the lease expires and the next process to try takes it —
within ``ttl_s`` plus one retry period, shorter than one live poll interval by default. A holder
that stops cleanly releases the lease, so the hand-over is immediate.

Renewal and release only touch a lease this holder still holds (checked in Lua, atomically): a
holder that was paused past its lease cannot take it back from the new holder.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RedisLease"]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLease:
    def __init__(self, redis: Any, *, key: str, holder: str, ttl_s: float = 5.0) -> None:
        self.redis = redis
        self.key = key
        self.holder = holder
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it (or this holder already does)."""
        if await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            return True
        return await self.renew()

    async def renew(self) -> bool:
        """Extend the lease; False if it is no longer ours."""
        return int(await self._renew(keys=[self.key], args=[self.holder, self.ttl_ms])) == 1

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])

    async def holder_now(self) -> str | None:
        value = await self.redis.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)
