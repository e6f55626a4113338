"""Channel names: their grammar and the kind each prefix selects (reference §4.1).

The kind decides how a subscription is authorised, whether the channel caches its last event and
whether client events are allowed on it. Prefixes are tested longest first, in one table, so that
``private-encrypted-cache-x`` is not mistaken for ``private-x``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_CHANNEL_NAME_LENGTH",
    "SERVER_TO_USER_PREFIX",
    "ChannelKind",
    "ChannelType",
    "classify_channel",
    "is_valid_channel_name",
]

#: Pusher's documented limit, prefix included (configurable up to 200 like the SDKs allow).
DEFAULT_MAX_CHANNEL_NAME_LENGTH = 164
SERVER_TO_USER_PREFIX = "#server-to-user-"

_NAME_CHARS = re.compile(r"[A-Za-z0-9_\-=@,.;]+")


class ChannelKind(enum.Enum):
    """How a subscription to the channel is authorised."""

    PUBLIC = "public"
    PRIVATE = "private"
    PRESENCE = "presence"
    ENCRYPTED = "encrypted"
    SERVER_TO_USER = "server-to-user"


@dataclass(frozen=True, slots=True)
class ChannelType:
    """The kind of a channel plus whether it is a cache channel (§4.1 table)."""

    kind: ChannelKind
    is_cache: bool

    @property
    def needs_signature(self) -> bool:
        return self.kind in (ChannelKind.PRIVATE, ChannelKind.PRESENCE, ChannelKind.ENCRYPTED)

    @property
    def allows_client_events(self) -> bool:
        """Client events only on private and presence channels, never encrypted (§7 rule 3)."""
        return self.kind in (ChannelKind.PRIVATE, ChannelKind.PRESENCE)


_PREFIXES: tuple[tuple[str, ChannelType], ...] = (
    ("private-encrypted-cache-", ChannelType(ChannelKind.ENCRYPTED, is_cache=True)),
    ("private-encrypted-", ChannelType(ChannelKind.ENCRYPTED, is_cache=False)),
    ("private-cache-", ChannelType(ChannelKind.PRIVATE, is_cache=True)),
    ("private-", ChannelType(ChannelKind.PRIVATE, is_cache=False)),
    ("presence-cache-", ChannelType(ChannelKind.PRESENCE, is_cache=True)),
    ("presence-", ChannelType(ChannelKind.PRESENCE, is_cache=False)),
    ("cache-", ChannelType(ChannelKind.PUBLIC, is_cache=True)),
)
_PUBLIC = ChannelType(ChannelKind.PUBLIC, is_cache=False)
_SERVER_TO_USER = ChannelType(ChannelKind.SERVER_TO_USER, is_cache=False)


def is_valid_channel_name(name: str, max_length: int = DEFAULT_MAX_CHANNEL_NAME_LENGTH) -> bool:
    """Letters, digits and ``_-=@,.;`` up to ``max_length``; ``#`` only for server-to-user."""
    return len(name) <= max_length and _channel_type(name) is not None


def _channel_type(name: str) -> ChannelType | None:
    """The kind of a name already within its length limit, or ``None`` for a refused character."""
    if name.startswith(SERVER_TO_USER_PREFIX):
        if _NAME_CHARS.fullmatch(name, len(SERVER_TO_USER_PREFIX)) is None:
            return None
        return _SERVER_TO_USER
    if _NAME_CHARS.fullmatch(name) is None:
        return None
    for prefix, channel_type in _PREFIXES:
        if name.startswith(prefix):
            return channel_type
    return _PUBLIC


#: Valid names remembered, at most this many (~1.1 MB at the 200-character maximum).
_MAX_CACHED_NAMES = 4096
_known_types: dict[str, ChannelType] = {}


def classify_channel(
    name: str, max_length: int = DEFAULT_MAX_CHANNEL_NAME_LENGTH
) -> ChannelType | None:
    """The channel's type, or ``None`` when the name is not a valid channel name.

    Every client event and publish asks again about the same few names, so valid names are
    remembered: a hit costs about what the old ``lru_cache`` did (~100 ns against ~700 ns to
    work it out). Only names that passed the length check and the grammar are stored, and at
    most ``_MAX_CACHED_NAMES`` of them, so a stranger's refused names cost nothing
    that stays, and valid ones at most a couple of megabytes (issue 10 item 2). The cache is
    a pure function's memo, shared by the process like the ``lru_cache`` it replaces.
    """
    if len(name) > max_length:
        return None
    channel_type = _known_types.get(name)
    if channel_type is None:
        channel_type = _channel_type(name)
        if channel_type is not None:
            if len(_known_types) >= _MAX_CACHED_NAMES:
                # Start afresh rather than track recency: one dict op per hit, and the working
                # set refills in a few microseconds per name.
                _known_types.clear()
            _known_types[name] = channel_type
    return channel_type
