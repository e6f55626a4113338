"""The seam between the protocol layers and wherever channel state lives.

The WebSocket and HTTP layers talk to one :class:`Adapter`; the in-memory one serves a single
process and a Redis one will serve many nodes behind the same methods, so the protocol code never
changes with the deployment (house rule 7). ``publish`` is synchronous on purpose: the local
fan-out happens inside the call, with no ``await`` per subscriber (house style §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pusherd.protocol.session import Member

__all__ = ["Adapter", "ChannelStats", "JoinResult", "LeaveResult", "Subscriber"]


class Subscriber(Protocol):
    """One socket as the fan-out sees it."""

    @property
    def socket_id(self) -> str: ...

    def deliver(self, ws_frame: bytes) -> None:
        """Write an already-framed WebSocket message; must not block or await."""
        ...


@dataclass(frozen=True, slots=True)
class JoinResult:
    """What a subscription changed.

    ``is_refused_full`` means a new presence member was refused because the channel already holds
    ``max_presence_members`` users; nothing else changed then.
    """

    is_channel_occupied: bool = False
    is_member_added: bool = False
    members: dict[str, Any] | None = None
    subscription_count: int = 0
    is_refused_full: bool = False


@dataclass(frozen=True, slots=True)
class LeaveResult:
    was_subscribed: bool = False
    is_channel_vacated: bool = False
    is_member_removed: bool = False
    subscription_count: int = 0


@dataclass(frozen=True, slots=True)
class ChannelStats:
    """Occupancy of one channel; ``user_count`` is ``None`` except on presence channels."""

    subscription_count: int
    user_count: int | None


class Adapter(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def publish(
        self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None
    ) -> None:
        """Send the Pusher frame ``payload`` to every subscriber of ``channel`` on every node."""
        ...

    async def join(
        self,
        app_id: str,
        channel: str,
        subscriber: Subscriber,
        member: Member | None,
        *,
        max_presence_members: int,
    ) -> JoinResult: ...

    async def leave(
        self, app_id: str, channel: str, socket_id: str, member: Member | None
    ) -> LeaveResult: ...

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats: ...

    async def channels(self, app_id: str, prefix: str) -> dict[str, ChannelStats]:
        """Occupied channels whose names start with ``prefix``."""
        ...

    async def members(self, app_id: str, channel: str) -> dict[str, Any]:
        """Presence members of ``channel``: ``user_id → user_info``."""
        ...
