"""One socket's protocol state: what a client frame means, decided without any I/O.

:meth:`Session.receive` takes a parsed frame and the time and returns the one command the I/O layer
must carry out (reply, join, leave, relay), or raises a :class:`PusherError` whose frame the I/O
layer sends. The adapter's answer to a join comes back through :meth:`Session.joined`, so the
session always knows which channels the socket really holds (client events need that, §7 rule 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pusherd.protocol.channels import (
    SERVER_TO_USER_PREFIX,
    ChannelKind,
    ChannelType,
    classify_channel,
    is_valid_channel_name,
)
from pusherd.protocol.errors import ClientError, CloseCode, SubscriptionRefused
from pusherd.protocol.frames import (
    PONG_FRAME,
    ClientEvent,
    ClientFrame,
    Ping,
    Signin,
    Subscribe,
    Unsubscribe,
    encode_event,
)
from pusherd.protocol.limits import Limits
from pusherd.protocol.signatures import (
    channel_string_to_sign,
    user_string_to_sign,
    verify_token,
)

__all__ = [
    "MAX_WATCHLIST_LENGTH",
    "Command",
    "Join",
    "Leave",
    "Member",
    "Relay",
    "Reply",
    "Session",
    "SignIn",
]

#: Only the first 100 watched ids are accepted; the rest earn a 4302 error (§13.3).
MAX_WATCHLIST_LENGTH = 100

CLIENT_EVENTS_DISABLED = (
    "To send client events, you must enable this feature in the Settings page of your dashboard."
)


@dataclass(frozen=True, slots=True)
class Member:
    """A presence member: the decimal-string id is its identity (§4.3), info is shown to others."""

    user_id: str
    user_info: Any


@dataclass(frozen=True, slots=True)
class Reply:
    """Send ``frame`` to this socket only."""

    frame: bytes


@dataclass(frozen=True, slots=True)
class Join:
    """Subscribe this socket; ``member`` is set for presence channels."""

    channel: str
    channel_type: ChannelType
    member: Member | None


@dataclass(frozen=True, slots=True)
class Leave:
    channel: str


@dataclass(frozen=True, slots=True)
class Relay:
    """A client event to every other subscriber of ``channel``; ``frame`` is built once."""

    channel: str
    event: str
    data: str
    user_id: str | None
    frame: bytes


@dataclass(frozen=True, slots=True)
class SignIn:
    """A verified ``pusher:signin`` (§13.1): answer with ``user_data``, then the watchlist."""

    user_id: str
    user_data: str
    watchlist: tuple[str, ...]
    is_watchlist_truncated: bool


Command = Reply | Join | Leave | Relay | SignIn

_PONG = Reply(PONG_FRAME)


def _parse_member(channel: str, channel_data: str, limits: Limits) -> Member:
    """The member a verified ``channel_data`` string describes (§6.1)."""
    if len(channel_data.encode()) > limits.max_presence_user_info_bytes:
        raise SubscriptionRefused(
            channel,
            "LimitReached",
            f"channel_data is larger than {limits.max_presence_user_info_bytes} bytes",
            403,
        )
    try:
        decoded = orjson.loads(channel_data)
    except orjson.JSONDecodeError:
        raise SubscriptionRefused(
            channel, "InvalidChannelData", "channel_data is not JSON", 400
        ) from None
    if not isinstance(decoded, dict):
        raise SubscriptionRefused(
            channel, "InvalidChannelData", "channel_data is not a JSON object", 400
        )
    raw_id = decoded.get("user_id")
    # Numbers and strings name the same member: 10 and "10" are one user (checklist 28).
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise SubscriptionRefused(
            channel, "InvalidChannelData", "channel_data needs a string or integer user_id", 400
        )
    user_id = str(raw_id)
    if len(user_id) > limits.max_presence_user_id_length:
        raise SubscriptionRefused(
            channel,
            "LimitReached",
            f"user_id is longer than {limits.max_presence_user_id_length} characters",
            400,  # §6.4: "user id ≤ 128 characters → LimitReached/400"
        )
    return Member(user_id, decoded.get("user_info"))


class Session:
    """The protocol state of one socket of one app."""

    __slots__ = (
        "_app_key",
        "_app_secret",
        "_window_count",
        "_window_start",
        "channels",
        "limits",
        "socket_id",
        "user_id",
        "user_info",
    )

    def __init__(self, *, socket_id: str, app_key: str, app_secret: str, limits: Limits) -> None:
        self.socket_id = socket_id
        self._app_key = app_key
        self._app_secret = app_secret
        self.limits = limits
        #: Subscribed channels → the socket's presence user id there (None elsewhere).
        self.channels: dict[str, str | None] = {}
        #: The signed-in user (pusher:signin), if any.
        self.user_id: str | None = None
        self.user_info: Any = None
        self._window_start = 0.0
        self._window_count = 0

    def receive(self, frame: ClientFrame, now: float) -> Command | None:
        """What ``frame`` asks for; ``None`` when nothing is to be done.

        Raises:
            ClientError: a refused client event or command; the socket stays open.
            SubscriptionRefused: a refused subscription.
        """
        if isinstance(frame, ClientEvent):
            return self._client_event(frame, now)
        if isinstance(frame, Subscribe):
            return self._subscribe(frame)
        if isinstance(frame, Unsubscribe):
            # Unsubscribing a channel the socket does not hold is ignored (§2.7).
            return Leave(frame.channel) if frame.channel in self.channels else None
        if isinstance(frame, Ping):
            return _PONG
        if isinstance(frame, Signin):
            return self._signin(frame)
        return None

    def joined(self, channel: str, user_id: str | None) -> None:
        """Record a subscription the adapter accepted."""
        self.channels[channel] = user_id

    def left(self, channel: str) -> None:
        self.channels.pop(channel, None)

    def _subscribe(self, frame: Subscribe) -> Join:
        channel = frame.channel
        channel_type = classify_channel(channel, self.limits.max_channel_name_length)
        if channel_type is None:
            raise SubscriptionRefused(
                channel, "InvalidChannel", f"Invalid channel name '{channel[:200]}'", 400
            )
        if (
            channel not in self.channels
            and len(self.channels) >= self.limits.max_channels_per_connection
        ):
            raise SubscriptionRefused(
                channel,
                "LimitReached",
                f"a connection may hold {self.limits.max_channels_per_connection} channels",
                403,
            )
        kind = channel_type.kind
        if kind is ChannelKind.SERVER_TO_USER:
            if self.user_id is None or channel != SERVER_TO_USER_PREFIX + self.user_id:
                raise SubscriptionRefused(
                    channel, "AuthError", "Only the signed-in user may subscribe", 403
                )
            return Join(channel, channel_type, None)
        if not channel_type.needs_signature:
            return Join(channel, channel_type, None)
        channel_data = frame.channel_data if kind is ChannelKind.PRESENCE else None
        if kind is ChannelKind.PRESENCE and channel_data is None and self.user_id is None:
            # Without channel_data the member comes from the signed-in user (§6.5).
            raise SubscriptionRefused(
                channel,
                "AuthError",
                "Presence subscriptions need channel_data or a signed-in connection",
                403,
            )
        string_to_sign = channel_string_to_sign(self.socket_id, channel, channel_data)
        if not verify_token(
            frame.auth, key=self._app_key, secret=self._app_secret, string_to_sign=string_to_sign
        ):
            signature = frame.auth.partition(":")[2]
            raise SubscriptionRefused(
                channel,
                "AuthError",
                "Invalid signature: Expected HMAC SHA256 hex digest of "
                f"{string_to_sign[:400]}, but got {signature[:64]}",
                401,
            )
        if channel_data is not None:
            member: Member | None = _parse_member(channel, channel_data, self.limits)
        elif kind is ChannelKind.PRESENCE:
            assert self.user_id is not None
            info_bytes = len(orjson.dumps(self.user_info))
            if info_bytes > self.limits.max_presence_user_info_bytes:
                raise SubscriptionRefused(
                    channel,
                    "LimitReached",
                    f"user_info is larger than {self.limits.max_presence_user_info_bytes} bytes",
                    403,
                )
            member = Member(self.user_id, self.user_info)
        else:
            member = None
        previous_user = self.channels.get(channel)
        if member is not None and previous_user is not None and previous_user != member.user_id:
            raise SubscriptionRefused(
                channel, "AuthError", "Already subscribed to this channel as another user", 400
            )
        return Join(channel, channel_type, member)

    def _signin(self, frame: Signin) -> SignIn:
        """Verify ``socket_id::user::user_data`` and read the user it describes (§2.11, §13.1).

        Failures are ``pusher:error`` 4009 on an open socket: closing would stop pusher-js for
        good (§3.1), and a bad signature is the app's bug, not the connection's.
        """
        string_to_sign = user_string_to_sign(self.socket_id, frame.user_data)
        if not verify_token(
            frame.auth, key=self._app_key, secret=self._app_secret, string_to_sign=string_to_sign
        ):
            signature = frame.auth.partition(":")[2]
            raise ClientError(
                CloseCode.UNAUTHORIZED,
                "Invalid signature: Expected HMAC SHA256 hex digest of "
                f"{string_to_sign[:400]}, but got {signature[:64]}",
            )
        try:
            user = orjson.loads(frame.user_data)
        except orjson.JSONDecodeError:
            raise ClientError(CloseCode.UNAUTHORIZED, "user_data is not JSON") from None
        if not isinstance(user, dict):
            raise ClientError(CloseCode.UNAUTHORIZED, "user_data is not a JSON object")
        raw_id = user.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
            raise ClientError(CloseCode.UNAUTHORIZED, "user_data needs a non-empty string 'id'")
        user_id = str(raw_id)
        if len(user_id) > self.limits.max_presence_user_id_length:
            raise ClientError(CloseCode.UNAUTHORIZED, "user_data 'id' is too long")
        if not is_valid_channel_name(SERVER_TO_USER_PREFIX + user_id, 200):
            # The id names the user's #server-to-user- channel, so it takes channel characters.
            raise ClientError(CloseCode.UNAUTHORIZED, "user_data 'id' has invalid characters")
        if self.user_id is not None and self.user_id != user_id:
            raise ClientError(CloseCode.UNAUTHORIZED, "Already signed in as another user")
        raw_watchlist = user.get("watchlist") or []
        if not isinstance(raw_watchlist, list) or not all(
            isinstance(item, str | int) and not isinstance(item, bool) for item in raw_watchlist
        ):
            raise ClientError(CloseCode.UNAUTHORIZED, "user_data 'watchlist' must list user ids")
        watchlist = tuple(dict.fromkeys(str(item) for item in raw_watchlist))
        self.user_id = user_id
        self.user_info = user.get("user_info")
        return SignIn(
            user_id,
            frame.user_data,
            watchlist[:MAX_WATCHLIST_LENGTH],
            len(watchlist) > MAX_WATCHLIST_LENGTH,
        )

    def _client_event(self, frame: ClientEvent, now: float) -> Relay:
        limits = self.limits
        if not limits.client_events_enabled:
            raise ClientError(None, CLIENT_EVENTS_DISABLED)
        channel = frame.channel
        channel_type = classify_channel(channel, limits.max_channel_name_length)
        if channel_type is None or not channel_type.allows_client_events:
            if channel_type is not None and channel_type.kind is ChannelKind.ENCRYPTED:
                raise ClientError(None, "Client events are not supported on encrypted channels")
            raise ClientError(
                None, "Client events are only allowed on private and presence channels"
            )
        if channel not in self.channels:
            raise ClientError(None, f"Client event rejected: not subscribed to {channel[:200]}")
        if len(frame.event) > limits.max_event_name_length:
            raise ClientError(
                None, f"Client event name is longer than {limits.max_event_name_length} characters"
            )
        if len(frame.data.encode()) > limits.max_message_size_bytes:
            raise ClientError(
                None, f"Client event data is larger than {limits.max_message_size_bytes} bytes"
            )
        # Pusher's 10 events per second per connection, counted in one-second windows (§7 rule 6).
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._window_count = 0
        self._window_count += 1
        if self._window_count > limits.client_event_rate_per_s:
            raise ClientError(
                CloseCode.CLIENT_EVENT_RATE_LIMIT, "Client event rejected due to rate limit"
            )
        user_id = self.channels[channel]
        relayed = encode_event(frame.event, channel, frame.data, user_id)
        return Relay(channel, frame.event, frame.data, user_id, relayed)
