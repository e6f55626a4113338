"""Refusals of the auth service, each rendering its own HTTP response.

::

    AuthError                 status + reason + message → JSON {"error", "reason"}
    ├── Unauthenticated       401: the API key is missing, unknown, wrong, revoked or expired
    ├── Forbidden             403: no channel rule names the channel, or the tier may not join it
    ├── Unprocessable         422: malformed ``socket_id``, channel name or request body
    ├── PayloadTooLarge       413: a body larger than any real auth request
    ├── RateLimited           429: too many failed attempts from this address or for this key id
    └── Unavailable           503: the key store could not be reached
    KeyStoreError             a database failure, translated where it enters (``from exc``)

pusher-js only looks at the status (reference §14.4: anything but 200 becomes a
``pusher:subscription_error`` with that status); the JSON ``reason`` is for people and tests.
Messages never contain the presented key, a hash or the app secret.
"""

from __future__ import annotations

import orjson

__all__ = [
    "AuthError",
    "Forbidden",
    "KeyStoreError",
    "PayloadTooLarge",
    "RateLimited",
    "Unauthenticated",
    "Unavailable",
    "Unprocessable",
]


class AuthError(Exception):
    """A refusal with the HTTP status and a stable machine-readable ``reason``."""

    status = 400

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def to_body(self) -> bytes:
        return orjson.dumps({"error": self.message, "reason": self.reason})

    def headers(self) -> dict[str, str]:
        return {}


class Unauthenticated(AuthError):
    status = 401


class Forbidden(AuthError):
    status = 403


class Unprocessable(AuthError):
    status = 422


class PayloadTooLarge(AuthError):
    status = 413


class Unavailable(AuthError):
    status = 503


class RateLimited(AuthError):
    """Too many failures; ``retry_after_s`` becomes the ``Retry-After`` header."""

    status = 429

    def __init__(self, reason: str, message: str, *, retry_after_s: float) -> None:
        super().__init__(reason, message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.retry_after_s + 0.999)))}


class KeyStoreError(Exception):
    """The key store failed (database down, schema missing); the caller answers 503."""
