"""The seam between the protocol layers and wherever channel state lives.

The WebSocket and HTTP layers talk to one :class:`Adapter`; the in-memory one serves a single
process and the Redis one serves many nodes behind the same methods, so the protocol code never
changes with the deployment (house rule 7). ``publish`` is synchronous on purpose: the local
fan-out happens inside the call, with no ``await`` per subscriber (house style §4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pusherd.protocol.channels import ChannelKind, classify_channel
from pusherd.protocol.session import Member
from pusherd.state.consequences import Transition

__all__ = [
    "Adapter",
    "AdapterCounters",
    "CachedEvent",
    "ChannelStats",
    "JoinResult",
    "LeaveResult",
    "MembershipListener",
    "Subscriber",
    "is_cache_channel",
    "is_presence_channel",
    "user_channel",
    "watchers_channel",
]


def is_presence_channel(channel: str) -> bool:
    """Presence channels count users and carry rosters (``presence-``, ``presence-cache-``)."""
    channel_type = classify_channel(channel, 200)
    return channel_type is not None and channel_type.kind is ChannelKind.PRESENCE


def is_cache_channel(channel: str) -> bool:
    """Cache channels remember their last event (§11)."""
    channel_type = classify_channel(channel, 200)
    return channel_type is not None and channel_type.is_cache


def user_channel(user_id: str) -> str:
    """The channel every socket signed in as ``user_id`` holds: server-to-user events and the
    user's online state (occupied = online on some node) both ride on it (§13.2, §13.3)."""
    return f"#server-to-user-{user_id}"


def watchers_channel(user_id: str) -> str:
    """Internal channel of the sockets watching ``user_id``; clients cannot name it (``#``)."""
    return f"#watchers-{user_id}"


#: Carries out what a transition the adapter noticed by itself causes (frames, webhooks, counts).
MembershipListener = Callable[[Transition], None]


class Subscriber(Protocol):
    """One socket as the fan-out sees it."""

    @property
    def socket_id(self) -> str: ...

    def deliver(self, ws_frame: bytes) -> None:
        """Write an already-framed WebSocket message; must not block or await."""
        ...

    def terminate(self) -> None:
        """Close the socket because the app terminated its user (§13.4)."""
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


@dataclass(frozen=True, slots=True)
class AdapterCounters:
    """What an adapter lost, for the metrics: writes dropped while the shared store could not
    take them, and channels not queued for repair because the repair queue was full."""

    dropped_writes: int = 0
    repair_overflows: int = 0


@dataclass(frozen=True, slots=True)
class CachedEvent:
    """The last event published on a cache channel: its frame and when it expires (Unix s)."""

    frame: bytes
    expires_at: float


class Adapter(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def publish(
        self,
        app_id: str,
        channel: str,
        payload: bytes,
        except_socket_id: str | None = None,
        *,
        cache_ttl_s: float | None = None,
    ) -> None:
        """Send the Pusher frame ``payload`` to every subscriber of ``channel`` on every node.

        The one way every event leaves (HTTP API, client events, the feed's poller and Laravel
        events, presence and count frames): on one node it is the local fan-out; on many it
        crosses Redis once and each node, the sender included, ends in the same local fan-out.
        With ``cache_ttl_s`` (never client events, §11) a cache channel also remembers the
        frame for that long, written once.
        """
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

    async def cached_event(self, app_id: str, channel: str) -> CachedEvent | None:
        """The unexpired last event of a cache channel, if any."""
        ...

    def terminate_user(self, app_id: str, user_id: str) -> None:
        """Close every socket signed in as ``user_id``, on every node."""
        ...

    def terminate_channel(self, app_id: str, channel: str) -> None:
        """Close (4009) every socket subscribed to the internal ``channel``, on every node.

        E.g. the sockets an API key authorised, when the key is revoked (issue 10 item 7).
        """
        ...

    def counters(self) -> AdapterCounters:
        """Totals since start, read by the metrics collector."""
        ...

    def watch_membership(self, listener: MembershipListener) -> None:
        """Hand ``listener`` the joins and leaves no socket of this node asked for: the members
        and sockets a dead node took with it, and what a repair after a Redis failure found.
        The socket path carries out its own transitions with the same function
        (:func:`pusherd.state.consequences.consequences_of`), so both cause the same frames,
        webhooks and counts."""
        ...
