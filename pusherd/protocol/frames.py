"""Pusher frames: parsing what clients send and encoding what the server sends (reference §2).

Server frames are built here once, as bytes, and fanned out unchanged. Channel-event ``data`` is
carried as the publisher's exact string (double encoding, §1.5): it is never decoded here.
Parsing never raises anything but :class:`~pusherd.protocol.errors.ClientError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pusherd.protocol.errors import ClientError

__all__ = [
    "PING_FRAME",
    "PONG_FRAME",
    "ClientEvent",
    "ClientFrame",
    "Ping",
    "Pong",
    "Signin",
    "Subscribe",
    "UnknownEvent",
    "Unsubscribe",
    "cache_miss_frame",
    "connection_established_frame",
    "encode_event",
    "member_added_frame",
    "member_removed_frame",
    "parse_client_frame",
    "presence_data",
    "signin_success_frame",
    "subscription_count_frame",
    "watchlist_events_frame",
    "subscription_succeeded_frame",
]

PING_FRAME = b'{"event":"pusher:ping","data":{}}'
PONG_FRAME = b'{"event":"pusher:pong","data":{}}'

INVALID_FORMAT = "Invalid message format"


@dataclass(frozen=True, slots=True)
class Ping:
    """``pusher:ping``: answer with ``pusher:pong`` at once (§2.3)."""


@dataclass(frozen=True, slots=True)
class Pong:
    """``pusher:pong``: only counts as activity."""


@dataclass(frozen=True, slots=True)
class Subscribe:
    """``pusher:subscribe``; ``channel_data`` is kept as the exact string that was signed."""

    channel: str
    auth: str
    channel_data: str | None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channel: str


@dataclass(frozen=True, slots=True)
class Signin:
    """``pusher:signin`` with the exact ``user_data`` string that was signed (§2.11)."""

    auth: str
    user_data: str


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """A ``client-*`` event; ``data`` is the string to relay (objects are encoded once here)."""

    event: str
    channel: str
    data: str


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """Any other event: ignored (unknown ``pusher:*`` and non-``client-`` names, §2.16)."""

    event: str


ClientFrame = Ping | Pong | Subscribe | Unsubscribe | Signin | ClientEvent | UnknownEvent

_PING = Ping()
_PONG = Pong()


def _data_object(frame: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a command frame, accepted as an object or a JSON string (checklist 9)."""
    data = frame.get("data")
    if isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ClientError(None, INVALID_FORMAT) from None
    if not isinstance(data, dict):
        raise ClientError(None, INVALID_FORMAT)
    return data


def _required_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ClientError(None, f"Invalid message format: '{key}' must be a string")
    return value


def parse_client_frame(raw: bytes | str) -> ClientFrame:
    """Decode one client frame.

    Raises:
        ClientError: code ``null`` for anything that is not a well-formed frame (§2.16).
    """
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ClientError(None, INVALID_FORMAT) from None
    if not isinstance(frame, dict):
        raise ClientError(None, INVALID_FORMAT)
    event = frame.get("event")
    if not isinstance(event, str):
        raise ClientError(None, INVALID_FORMAT)
    if event == "pusher:ping":
        return _PING
    if event == "pusher:pong":
        return _PONG
    if event == "pusher:subscribe":
        data = _data_object(frame)
        channel = _required_str(data, "channel")
        auth = data.get("auth") or ""
        if not isinstance(auth, str):
            raise ClientError(None, "Invalid message format: 'auth' must be a string")
        channel_data = data.get("channel_data")
        if channel_data is not None and not isinstance(channel_data, str):
            # The signature covers the exact string, so an object cannot be verified.
            raise ClientError(None, "Invalid message format: 'channel_data' must be a string")
        return Subscribe(channel, auth, channel_data)
    if event == "pusher:unsubscribe":
        return Unsubscribe(_required_str(_data_object(frame), "channel"))
    if event == "pusher:signin":
        data = _data_object(frame)
        return Signin(_required_str(data, "auth"), _required_str(data, "user_data"))
    if event.startswith("client-"):
        target = frame.get("channel")
        if not isinstance(target, str):
            raise ClientError(None, "Invalid message format: client events need a 'channel'")
        payload = frame.get("data")
        if isinstance(payload, str):
            return ClientEvent(event, target, payload)
        try:
            text = orjson.dumps(payload).decode()
        except orjson.JSONEncodeError:
            # orjson reads 1,024 levels of nesting but writes only 254.
            raise ClientError(None, INVALID_FORMAT) from None
        return ClientEvent(event, target, text)
    return UnknownEvent(event)


def encode_event(event: str, channel: str, data: str, user_id: str | None = None) -> bytes:
    """A channel-event frame (§2.9, §2.10): built once, sent as the same bytes to everyone."""
    if user_id is None:
        return orjson.dumps({"event": event, "channel": channel, "data": data})
    return orjson.dumps({"event": event, "channel": channel, "data": data, "user_id": user_id})


def connection_established_frame(socket_id: str, activity_timeout_s: int) -> bytes:
    """The handshake frame (§1.3); ``data`` is a JSON string, as pusher-js expects."""
    data = orjson.dumps({"socket_id": socket_id, "activity_timeout": activity_timeout_s})
    return orjson.dumps({"event": "pusher:connection_established", "data": data.decode()})


def subscription_succeeded_frame(channel: str, data: str = "{}") -> bytes:
    """``pusher_internal:subscription_succeeded`` (§2.5); presence passes its roster JSON."""
    return orjson.dumps(
        {"event": "pusher_internal:subscription_succeeded", "channel": channel, "data": data}
    )


def presence_data(members: dict[str, Any]) -> str:
    """The presence ``subscription_succeeded`` data: ``ids``, ``hash``, ``count`` (§2.5)."""
    return orjson.dumps(
        {"presence": {"ids": list(members), "hash": members, "count": len(members)}}
    ).decode()


def member_added_frame(channel: str, user_id: str, user_info: Any) -> bytes:
    data = orjson.dumps({"user_id": user_id, "user_info": user_info}).decode()
    return orjson.dumps({"event": "pusher_internal:member_added", "channel": channel, "data": data})


def member_removed_frame(channel: str, user_id: str) -> bytes:
    data = orjson.dumps({"user_id": user_id}).decode()
    return orjson.dumps(
        {"event": "pusher_internal:member_removed", "channel": channel, "data": data}
    )


def cache_miss_frame(channel: str) -> bytes:
    """``pusher:cache_miss`` carries no data (§2.14)."""
    return orjson.dumps({"event": "pusher:cache_miss", "channel": channel})


def signin_success_frame(user_data: str) -> bytes:
    """``pusher:signin_success`` with the exact ``user_data`` string that was signed (§2.11)."""
    return orjson.dumps({"event": "pusher:signin_success", "data": {"user_data": user_data}})


def watchlist_events_frame(online: list[str], offline: list[str]) -> bytes:
    """``pusher_internal:watchlist_events``: ``data.events`` of ``{name, user_ids}`` (§2.13).

    Empty lists are left out (§13.3).
    """
    events = []
    if online:
        events.append({"name": "online", "user_ids": online})
    if offline:
        events.append({"name": "offline", "user_ids": offline})
    return orjson.dumps({"event": "pusher_internal:watchlist_events", "data": {"events": events}})


def subscription_count_frame(channel: str, count: int) -> bytes:
    """``pusher_internal:subscription_count`` with string-encoded data (§2.15)."""
    data = orjson.dumps({"subscription_count": count}).decode()
    return orjson.dumps(
        {"event": "pusher_internal:subscription_count", "channel": channel, "data": data}
    )
