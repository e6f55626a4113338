"""Channel names: their grammar and the kind each prefix selects (reference §4.1).

The kind decides how a subscription is authorised, whether the channel caches its last event and
whether client events are allowed on it. Prefixes are tested longest first, in one table, so that
``private-encrypted-cache-x`` is not mistaken for ``private-x``.
"""

from __future__ import annotations

import enum
import functools
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
    if not name or len(name) > max_length:
        return False
    if name.startswith(SERVER_TO_USER_PREFIX):
        return _NAME_CHARS.fullmatch(name, len(SERVER_TO_USER_PREFIX)) is not None
    return _NAME_CHARS.fullmatch(name) is not None


@functools.lru_cache(maxsize=16_384)
def classify_channel(
    name: str, max_length: int = DEFAULT_MAX_CHANNEL_NAME_LENGTH
) -> ChannelType | None:
    """The channel's type, or ``None`` when the name is not a valid channel name.

    Cached: every client event and publish asks again about the same few names, and the answer
    is a pure function of the name (a bounded cache, so hostile names cannot grow it).
    """
    if not is_valid_channel_name(name, max_length):
        return None
    if name[0] == "#":
        return _SERVER_TO_USER
    for prefix, channel_type in _PREFIXES:
        if name.startswith(prefix):
            return channel_type
    return _PUBLIC
