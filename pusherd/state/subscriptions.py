"""Which sockets hold which channel, per app: O(1) join and leave, occupancy transitions.

Pure in-process structure; the adapters own one and decide where it lives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["ChannelIndex"]

S = TypeVar("S")


class ChannelIndex(Generic[S]):
    """``(app_id, channel) → {socket_id: subscriber}``."""

    __slots__ = ("_channels",)

    def __init__(self) -> None:
        self._channels: dict[tuple[str, str], dict[str, S]] = {}

    def add(self, app_id: str, channel: str, socket_id: str, subscriber: S) -> tuple[bool, bool]:
        """Add a subscription; returns ``(is_new_subscription, is_channel_now_occupied)``."""
        key = (app_id, channel)
        sockets = self._channels.get(key)
        if sockets is None:
            self._channels[key] = {socket_id: subscriber}
            return True, True
        if socket_id in sockets:
            return False, False
        sockets[socket_id] = subscriber
        return True, False

    def remove(self, app_id: str, channel: str, socket_id: str) -> tuple[bool, bool]:
        """Remove a subscription; returns ``(was_subscribed, is_channel_now_vacated)``."""
        key = (app_id, channel)
        sockets = self._channels.get(key)
        if sockets is None or sockets.pop(socket_id, None) is None:
            return False, False
        if sockets:
            return True, False
        del self._channels[key]
        return True, True

    def subscribers(self, app_id: str, channel: str) -> dict[str, S] | None:
        """The live mapping (do not mutate while iterating it); ``None`` when unoccupied."""
        return self._channels.get((app_id, channel))

    def count(self, app_id: str, channel: str) -> int:
        sockets = self._channels.get((app_id, channel))
        return 0 if sockets is None else len(sockets)

    def channels(self, app_id: str, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Occupied channels of an app whose name starts with ``prefix``, with their counts."""
        for (owner, channel), sockets in self._channels.items():
            if owner == app_id and channel.startswith(prefix):
                yield channel, len(sockets)

    def keys(self) -> tuple[tuple[str, str], ...]:
        """Every occupied ``(app_id, channel)``."""
        return tuple(self._channels)
