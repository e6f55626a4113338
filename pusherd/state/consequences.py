"""What a join or a leave causes, decided in one place whoever noticed it.

A membership transition reaches pusherd three ways: a socket subscribes or leaves (the socket
path), a node dies and a survivor withdraws its sockets (the dead-node clean-up), or a node
re-asserts its state after Redis lost it (the repair). Each must cause the same frames, webhooks
and subscription counts, so all three describe the transition as an :class:`Arrival` or a
:class:`Departure` and ask :func:`arrival_consequences` / :func:`departure_consequences` what
follows; the caller only carries the answer out (publish, webhook sink, count throttle).

Pure: no I/O, no clock, no app configuration. Whether an app has webhooks, counts or watchlists
turned on is the executor's filter, exactly as on the socket path before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pusherd.protocol.frames import member_added_frame, member_removed_frame

__all__ = [
    "Arrival",
    "Consequences",
    "Departure",
    "Transition",
    "arrival_consequences",
    "consequences_of",
    "departure_consequences",
]

#: Sockets signed in as a user hold this channel; it being occupied means the user is online.
_SERVER_TO_USER_PREFIX = "#server-to-user-"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A socket (or a re-asserted node) joined ``channel``.

    ``user_id`` is set when that made the user a presence member cluster-wide; ``socket_id`` is
    the joining socket, which hears no ``member_added`` about itself (§6.3).
    """

    app_id: str
    channel: str
    is_channel_occupied: bool
    subscription_count: int
    user_id: str | None = None
    user_info: Any = None
    socket_id: str | None = None


@dataclass(frozen=True, slots=True)
class Departure:
    """Sockets left ``channel``: one by itself, or all of a dead node's at once.

    ``user_ids`` are the users no longer members anywhere in the cluster because of it (one at
    most for a socket's own leave, any number when a node died);
    ``was_subscribed`` is false for a leave of a channel the socket never held (nothing follows).
    """

    app_id: str
    channel: str
    is_channel_vacated: bool
    subscription_count: int
    user_ids: tuple[str, ...] = ()
    was_subscribed: bool = True


@dataclass(frozen=True, slots=True)
class Consequences:
    """What a transition causes.

    ``frames`` go to every subscriber of the channel on every node, except ``except_socket_id``;
    ``webhooks`` are ``(name, user_id or None)`` for the app's sink; ``online`` / ``offline``
    name a user whose watchers must hear it (§13.3); ``count`` is the channel's new
    subscription count, sent through the caller's throttle (§12), ``None`` when unchanged.
    """

    frames: tuple[bytes, ...] = ()
    except_socket_id: str | None = None
    webhooks: tuple[tuple[str, str | None], ...] = ()
    online: str | None = None
    offline: str | None = None
    count: int | None = None


#: What an adapter reports to the listener that carries out the consequences.
Transition = Arrival | Departure


def _is_internal(channel: str) -> bool:
    """Channels clients cannot name (``#…``) raise no webhooks."""
    return channel.startswith("#")


def _signed_in_user(channel: str) -> str | None:
    if channel.startswith(_SERVER_TO_USER_PREFIX):
        return channel[len(_SERVER_TO_USER_PREFIX) :]
    return None


def arrival_consequences(arrival: Arrival) -> Consequences:
    """``member_added`` (frame and webhook), ``channel_occupied`` or the user being online."""
    channel = arrival.channel
    frames: tuple[bytes, ...] = ()
    webhooks: list[tuple[str, str | None]] = []
    if arrival.user_id is not None:
        frames = (member_added_frame(channel, arrival.user_id, arrival.user_info),)
        webhooks.append(("member_added", arrival.user_id))
    online = None
    if arrival.is_channel_occupied:
        online = _signed_in_user(channel)
        if online is None and not _is_internal(channel):
            webhooks.append(("channel_occupied", None))
    return Consequences(
        frames=frames,
        except_socket_id=arrival.socket_id,
        webhooks=tuple(webhooks),
        online=online,
        count=arrival.subscription_count,
    )


def departure_consequences(departure: Departure) -> Consequences:
    """``member_removed`` (frame and webhook), ``channel_vacated`` or the user being offline,
    and the new count."""
    if not departure.was_subscribed:
        return Consequences()
    channel = departure.channel
    frames = tuple(member_removed_frame(channel, user_id) for user_id in departure.user_ids)
    webhooks: list[tuple[str, str | None]] = [
        ("member_removed", user_id) for user_id in departure.user_ids
    ]
    offline = None
    if departure.is_channel_vacated:
        offline = _signed_in_user(channel)
        if offline is None and not _is_internal(channel):
            webhooks.append(("channel_vacated", None))
    return Consequences(
        frames=frames,
        webhooks=tuple(webhooks),
        offline=offline,
        count=departure.subscription_count,
    )


def consequences_of(transition: Transition) -> Consequences:
    """Either of the above, by the kind of transition."""
    if isinstance(transition, Arrival):
        return arrival_consequences(transition)
    return departure_consequences(transition)
