"""Errors of the Pusher protocol, each able to render its own wire form.

::

    PusherError                      anything the protocol refuses
    ├── ConnectionRefused            pusher:error {code} then close with the same code (§1.2, §3.2)
    ├── ClientError                  pusher:error {code|null}; the socket stays open (§2.16, §7)
    └── SubscriptionRefused          pusher:subscription_error {type, error, status} (§2.6)
    ApiError                         an HTTP API failure: status + JSON {"error": …} (§9.1)

The I/O layers never build these frames themselves: they call :meth:`to_frame` /
:meth:`to_body`, so one place decides what the client sees.
"""

from __future__ import annotations

import orjson

__all__ = [
    "ApiError",
    "ClientError",
    "CloseCode",
    "ConnectionRefused",
    "PusherError",
    "SubscriptionRefused",
]


class CloseCode:
    """Close codes of reference §3.1, by meaning."""

    TLS_ONLY = 4000
    APP_NOT_FOUND = 4001
    APP_DISABLED = 4003
    OVER_QUOTA = 4004
    PATH_NOT_FOUND = 4005
    INVALID_VERSION = 4006
    UNSUPPORTED_VERSION = 4007
    NO_VERSION = 4008
    UNAUTHORIZED = 4009
    OVER_CAPACITY = 4100
    RECONNECT = 4200
    PONG_NOT_RECEIVED = 4201
    CLIENT_EVENT_RATE_LIMIT = 4301
    WATCHLIST_LIMIT = 4302


class PusherError(Exception):
    """Base of every protocol-level refusal."""

    def to_frame(self) -> bytes:
        raise NotImplementedError


def _error_frame(code: int | None, message: str) -> bytes:
    return orjson.dumps({"event": "pusher:error", "data": {"code": code, "message": message}})


class ConnectionRefused(PusherError):
    """A refusal that ends the connection: ``pusher:error`` then close with the same code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_frame(self) -> bytes:
        return _error_frame(self.code, self.message)


class ClientError(PusherError):
    """A refused client frame; the socket stays open. ``code`` is ``None`` or 43xx/4009."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_frame(self) -> bytes:
        return _error_frame(self.code, self.message)


class SubscriptionRefused(PusherError):
    """A refused subscription: ``pusher:subscription_error`` on that channel (§2.6).

    ``error_type`` is ``AuthError`` (signature), ``LimitReached`` (limits) or ``InvalidChannel``
    (names); ``status`` follows HTTP: 401 auth, 403 limits and forbidden, 400 malformed.
    """

    def __init__(self, channel: str, error_type: str, error: str, status: int) -> None:
        super().__init__(error)
        self.channel = channel
        self.error_type = error_type
        self.error = error
        self.status = status

    def to_frame(self) -> bytes:
        return orjson.dumps(
            {
                "event": "pusher:subscription_error",
                "channel": self.channel,
                "data": {"type": self.error_type, "error": self.error, "status": self.status},
            }
        )


class ApiError(Exception):
    """An HTTP API failure with its status and a message that says what was wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def to_body(self) -> bytes:
        return orjson.dumps({"error": self.message})
