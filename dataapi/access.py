"""Who is asking, and what their tier may read (issue 11 item 5).

The key is read from ``Authorization: Bearer …`` or ``X-API-Key: …`` only: a key in a URL ends
up in proxy logs, browser history and ``Referer`` headers, so a request that puts one in the
query string is refused outright. Verification is the auth service's; this package sees it
through :class:`KeyVerifier`, one async method, so the auth side can change how it checks keys
without this package noticing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from dataapi.errors import Forbidden, Unauthenticated

__all__ = [
    "KeyIdentity",
    "KeyVerifier",
    "Resource",
    "check_history",
    "check_resource",
    "presented_key",
]

#: Query parameters that look like a key: refused, never read.
_URL_KEY_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token"})


class Resource(enum.Enum):
    """What a tier's ``data_api.resources`` can list (names as in the policy file)."""

    REFERENCE = "reference"  # sports and leagues
    STANDINGS = "standings"
    LIVE = "live"
    MATCHES = "matches"  # a league's matches by date, one match with its timeline
    TEAMS = "teams"  # a team's matches over a date range


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    key_id: str
    tier: str
    requests_per_minute: int
    resources: frozenset[str]
    #: How many days back history may be read; None: no bound.
    history_days: int | None
    #: Wall-clock second the key stops being usable (its expiry); None: no expiry. Lets a
    #: cache in front of the verifier stop an expiring key exactly on time.
    valid_until_s: float | None = None


class KeyVerifier(Protocol):
    async def identify(self, presented: str, *, client_address: str) -> KeyIdentity:
        """The identity of a usable key.

        Raises:
            Unauthenticated: invalid, revoked or expired key (the reason says which).
            TooManyRequests: too many failed attempts.
            Unavailable: keys cannot be checked now.
        """
        ...


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The key the request carries.

    Raises:
        Unauthenticated: none sent, or sent in the URL.
    """
    if _URL_KEY_PARAMS & set(query):
        raise Unauthenticated("key_in_url", "send the API key in a header, never in the URL")
    authorization = headers.get("authorization", "").strip()
    if authorization:
        # An Authorization header is the credential; a wrong scheme is not skipped over to
        # another header, so a request never passes on a credential it did not mean to use.
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("invalid_key", "Authorization must be 'Bearer <key>'")
        return token.strip()
    header_key = headers.get("x-api-key", "").strip()
    if header_key:
        return header_key
    raise Unauthenticated(
        "missing_key", "send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
    )


def check_resource(identity: KeyIdentity, resource: Resource) -> None:
    if resource.value not in identity.resources:
        raise Forbidden(
            "resource_not_in_tier", f"tier {identity.tier!r} may not read {resource.value}"
        )


def check_history(identity: KeyIdentity, oldest_s: int, now_s: float) -> None:
    """Refuse reads older than the tier's history window (whole days, UTC)."""
    if identity.history_days is None:
        return
    today_start = int(now_s) // 86_400 * 86_400
    if oldest_s < today_start - identity.history_days * 86_400:
        raise Forbidden(
            "history_out_of_range",
            f"tier {identity.tier!r} reads at most {identity.history_days} days back",
        )
