"""One node's joins and leaves, written to the shared counts and rosters in Redis.

Each runs the Lua scripts of :mod:`pusherd.adapters.redis_scripts`, so the first/last member
and occupied/vacated transitions are decided once for the whole cluster. The caller holds the
channel's lock and keeps its own sockets (:class:`pusherd.adapters.redis.RedisAdapter`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis

from pusherd.adapters.base import LeaveResult
from pusherd.adapters.redis_scripts import (
    JOIN_CHANNEL,
    JOIN_PRESENCE,
    LEAVE_CHANNEL,
    LEAVE_PRESENCE,
    RedisKeys,
)
from pusherd.protocol.session import Member

__all__ = ["SharedMembership"]

Retry = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class SharedMembership:
    """The membership scripts of one node (``node_id``), each through ``retry``."""

    def __init__(
        self, *, redis: aioredis.Redis, keys: RedisKeys, node_id: str, retry: Retry
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._node_id = node_id
        self._retry = retry
        self._scripts: dict[str, Any] = {}

    def register(self) -> None:
        for name, source in (
            ("join_channel", JOIN_CHANNEL),
            ("leave_channel", LEAVE_CHANNEL),
            ("join_presence", JOIN_PRESENCE),
            ("leave_presence", LEAVE_PRESENCE),
        ):
            self._scripts[name] = self._redis.register_script(source)

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return await self._retry(lambda: self._scripts[script](keys=keys, args=args))

    async def join(
        self, app_id: str, channel: str, member: Member | None, max_presence_members: int
    ) -> tuple[int, int]:
        """``(presence outcome, channel total)``: the outcome is 1 for a new member, 0 for
        another socket of one (or no member), -1 when refused for a full channel (then the
        channel was not joined and the total is 0)."""
        outcome = 0
        if member is not None:
            args = [member.user_id, orjson.dumps(member.user_info), self._node_id]
            presence_keys = self._keys.presence(app_id, channel)
            outcome = int(
                await self._run("join_presence", presence_keys, [*args, max_presence_members])
            )
            if outcome < 0:
                return outcome, 0
        channel_keys = [self._keys.channel(app_id, "ch", channel), self._keys.occupied(app_id)]
        total = int(await self._run("join_channel", channel_keys, [self._node_id, channel]))
        entry = RedisKeys.node_entry(app_id, channel)
        await self._retry(lambda: self._redis.sadd(self._keys.node_channels(self._node_id), entry))
        return outcome, total

    async def leave(self, app_id: str, channel: str, member: Member | None) -> LeaveResult:
        is_member_removed = False
        if member is not None:
            presence_keys = self._keys.presence(app_id, channel)
            outcome = await self._run(
                "leave_presence", presence_keys, [member.user_id, self._node_id]
            )
            is_member_removed = int(outcome) == 1
        channel_keys = [self._keys.channel(app_id, "ch", channel), self._keys.occupied(app_id)]
        total = int(await self._run("leave_channel", channel_keys, [self._node_id, channel]))
        return LeaveResult(
            was_subscribed=True,
            is_channel_vacated=total <= 0,
            is_member_removed=is_member_removed,
            subscription_count=max(total, 0),
        )
