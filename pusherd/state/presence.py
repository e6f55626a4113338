"""Presence rosters: who is in each presence channel, counted per user, not per socket.

A user's first socket makes them a member and their last socket's departure removes them
(reference §6.3); only those two transitions are reported, so nobody sees a duplicate
``member_added`` when a user opens a second tab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Roster"]


@dataclass(slots=True)
class _Entry:
    user_info: Any
    socket_ids: set[str] = field(default_factory=set)


class Roster:
    """``(app_id, channel) → user_id → (user_info of the first socket, socket ids)``."""

    __slots__ = ("_channels",)

    def __init__(self) -> None:
        self._channels: dict[tuple[str, str], dict[str, _Entry]] = {}

    def user_count(self, app_id: str, channel: str) -> int:
        users = self._channels.get((app_id, channel))
        return 0 if users is None else len(users)

    def has_user(self, app_id: str, channel: str, user_id: str) -> bool:
        users = self._channels.get((app_id, channel))
        return users is not None and user_id in users

    def add(self, app_id: str, channel: str, user_id: str, user_info: Any, socket_id: str) -> bool:
        """Add a socket of a user; ``True`` when this made the user a new member."""
        users = self._channels.setdefault((app_id, channel), {})
        entry = users.get(user_id)
        if entry is None:
            users[user_id] = _Entry(user_info, {socket_id})
            return True
        entry.socket_ids.add(socket_id)
        return False

    def remove(self, app_id: str, channel: str, user_id: str, socket_id: str) -> bool:
        """Remove a socket of a user; ``True`` when it was the user's last one."""
        key = (app_id, channel)
        users = self._channels.get(key)
        if users is None:
            return False
        entry = users.get(user_id)
        if entry is None:
            return False
        entry.socket_ids.discard(socket_id)
        if entry.socket_ids:
            return False
        del users[user_id]
        if not users:
            del self._channels[key]
        return True

    def members(self, app_id: str, channel: str) -> dict[str, Any]:
        """``user_id → user_info`` in join order, the presence ``hash`` (§2.5)."""
        users = self._channels.get((app_id, channel), {})
        return {user_id: entry.user_info for user_id, entry in users.items()}
