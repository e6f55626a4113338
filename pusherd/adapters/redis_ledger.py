"""What a Redis node knows about itself, kept in memory so it can be written to Redis again.

Pure in-process structures used by :class:`pusherd.adapters.redis.RedisAdapter` and
:class:`pusherd.adapters.redis_repair.Repairer`: the node's presence members, the channels whose
shared state may be wrong, and the per-channel locks that keep a repair from overwriting a
join or a leave half way through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

__all__ = ["ChannelKey", "ChannelLocks", "PresenceLedger", "RepairQueue"]

logger = logging.getLogger("pusherd.adapters.redis")

ChannelKey = tuple[str, str]  # (app_id, channel)


@dataclass(slots=True)
class _Lock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holders: int = 0


class ChannelLocks:
    """One lock per channel, kept only while someone holds or waits for it."""

    __slots__ = ("_locks",)

    def __init__(self) -> None:
        self._locks: dict[ChannelKey, _Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, app_id: str, channel: str) -> AsyncIterator[None]:
        key = (app_id, channel)
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _Lock()
        entry.holders += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.holders -= 1
            if entry.holders == 0:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


@dataclass(slots=True)
class _LocalMember:
    info_json: str
    socket_ids: set[str]


class PresenceLedger:
    """This node's presence members: ``(app, channel) → user → (info JSON, socket ids)``.

    The Redis roster is shared by every node; this is the part of it this node vouches for,
    kept so it can be written again after Redis lost it.
    """

    __slots__ = ("_channels",)

    def __init__(self) -> None:
        self._channels: dict[ChannelKey, dict[str, _LocalMember]] = {}

    def add(self, app_id: str, channel: str, user_id: str, info_json: str, socket_id: str) -> None:
        users = self._channels.setdefault((app_id, channel), {})
        local = users.get(user_id)
        if local is None:
            users[user_id] = _LocalMember(info_json, {socket_id})
        else:
            local.socket_ids.add(socket_id)

    def remove(self, app_id: str, channel: str, user_id: str, socket_id: str) -> bool:
        """Forget one socket; ``True`` when it was the user's last one on this node."""
        users = self._channels.get((app_id, channel))
        local = None if users is None else users.get(user_id)
        if users is None or local is None or socket_id not in local.socket_ids:
            return False
        local.socket_ids.discard(socket_id)
        if local.socket_ids:
            return False
        del users[user_id]
        if not users:
            del self._channels[(app_id, channel)]
        return True

    def snapshot(self, app_id: str, channel: str) -> dict[str, tuple[int, str]]:
        """``user → (sockets on this node, info JSON)``, as ``RESYNC_CHANNEL`` takes it."""
        users = self._channels.get((app_id, channel), {})
        return {user: (len(local.socket_ids), local.info_json) for user, local in users.items()}

    def channels(self) -> Iterable[ChannelKey]:
        return tuple(self._channels)


class RepairQueue:
    """Channels whose shared state may be wrong, with the users who left them meanwhile.

    Bounded at ``max_channels``: a channel past the bound is not queued (counted in
    ``overflows``, logged) and every channel is re-asserted instead, which loses no count but
    may lose the ``member_removed`` of a user who left it while Redis was gone and restarted.
    """

    __slots__ = ("_pending", "_max_channels", "is_everything", "is_announcing_added", "overflows")

    def __init__(self, max_channels: int) -> None:
        self._pending: dict[ChannelKey, set[str]] = {}
        self._max_channels = max_channels
        self.is_everything = False
        self.is_announcing_added = False
        self.overflows = 0

    def add(self, app_id: str, channel: str, gone_user: str | None = None) -> None:
        key = (app_id, channel)
        users = self._pending.get(key)
        if users is None:
            if len(self._pending) >= self._max_channels:
                self.overflows += 1
                if self.overflows in (1, 10, 100) or self.overflows % 1000 == 0:
                    logger.warning(
                        "Redis repair queue full (%d channels; %d overflows so far): "
                        "re-asserting every channel instead",
                        self._max_channels,
                        self.overflows,
                    )
                self.is_everything = True
                return
            users = self._pending[key] = set()
        if gone_user is not None:
            users.add(gone_user)

    def everything(self, *, is_announcing_added: bool) -> None:
        """Re-assert every channel; ``is_announcing_added`` tells the others' sockets about the
        members Redis did not know (they were told those members left)."""
        self.is_everything = True
        self.is_announcing_added = self.is_announcing_added or is_announcing_added

    def gone_users(self, app_id: str, channel: str) -> set[str]:
        return set(self._pending.get((app_id, channel), ()))

    def done(self, app_id: str, channel: str) -> None:
        self._pending.pop((app_id, channel), None)

    def channels(self) -> list[ChannelKey]:
        return list(self._pending)

    def __len__(self) -> int:
        return len(self._pending)
