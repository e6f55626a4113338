"""API keys: their wire format, generation (shown once), how they are hashed, the stored record.

A key reads ``pk_<key_id>.<secret>``. The ``key_id`` is public and the table's primary key, so a
presented key is found with one indexed lookup, never a scan. What is stored is
``hmac-sha256$<pepper fingerprint>$<hex>``: HMAC-SHA256 of the whole key under the server-side
pepper (``auth.pepper``), checked with a constant-time compare. The secret carries 256 random
bits, so a fast hash loses nothing (no speed of guessing reaches 2^256) and costs microseconds
instead of argon2's ~200 ms; the pepper keeps a stolen database from confirming any key. This is
how Laravel Sanctum (SHA-256), GitHub and Stripe store their tokens.

Keys created before that carry an argon2id hash in ``secret_hash`` (legacy): they keep working,
and their first successful verification stores the HMAC form and drops the argon2 hash.
"""

from __future__ import annotations

import enum
import hmac
import random
import re
from dataclasses import dataclass, field
from datetime import datetime

from auth.pepper import Pepper, Peppers
from pusherd.protocol.secret import Secret

__all__ = [
    "KEY_PREFIX",
    "ApiKey",
    "HashCheck",
    "IssuedKey",
    "PresentedKey",
    "check_key_hash",
    "hash_key",
    "issue_key",
    "opaque_user_id",
    "parse_key",
]

KEY_PREFIX = "pk_"
_KEY_ID_BYTES = 8
_SECRET_BYTES = 32
_KEY_RE = re.compile(r"pk_([0-9a-f]{16})\.([0-9a-f]{64})")
_SCHEME = "hmac-sha256"
_USER_ID_LABEL = b"pusherd-auth presence id:"
_USER_ID_HEX = 20


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One stored key. ``user_id`` and ``name`` are what presence members see (§6.1).

    ``user_id`` is opaque (never the key id, which would let co-members target the key) and
    survives rotation (the new key copies it), so a rotated client keeps its presence identity.
    ``key_hash`` is the HMAC form; ``secret_hash`` an argon2id hash of a key not yet re-hashed.
    Times are timezone-aware UTC.
    """

    key_id: str
    user_id: str
    name: str
    tier: str
    created_at: datetime
    key_hash: str | None = field(default=None, repr=False)
    secret_hash: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_usable_at(self, now: datetime) -> bool:
        """Neither revoked nor past its expiry at ``now``."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A key as a client sent it, split into its public id and its secret part."""

    key_id: str
    secret: Secret

    def message(self) -> bytes:
        """What the HMAC covers: id and secret together, so neither can be swapped alone."""
        return f"{KEY_PREFIX}{self.key_id}.{self.secret.reveal()}".encode()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: the record to store and the plain key to show once."""

    record: ApiKey
    plain: Secret


class HashCheck(enum.Enum):
    MATCH = "match"
    #: Matches under a previous pepper (or is legacy argon2): store the current form.
    MATCH_STALE = "match_stale"
    NO_MATCH = "no_match"
    #: No HMAC hash to check against (a legacy argon2 record).
    ABSENT = "absent"


def parse_key(value: str) -> PresentedKey | None:
    """Split ``pk_<key_id>.<secret>``; ``None`` for anything of another shape."""
    match = _KEY_RE.fullmatch(value.strip())
    if match is None:
        return None
    return PresentedKey(key_id=match.group(1), secret=Secret(match.group(2)))


def hash_key(pepper: Pepper, presented: PresentedKey) -> str:
    """``hmac-sha256$<fingerprint>$<hex>``: what is stored for a key."""
    return f"{_SCHEME}${pepper.fingerprint}${pepper.mac(presented.message()).hex()}"


def check_key_hash(peppers: Peppers, stored: str | None, presented: PresentedKey) -> HashCheck:
    """Compare in constant time under the pepper the stored hash names."""
    if stored is None:
        return HashCheck.ABSENT
    parts = stored.split("$")
    if len(parts) != 3 or parts[0] != _SCHEME:
        return HashCheck.NO_MATCH
    pepper = peppers.by_fingerprint(parts[1])
    if pepper is None:
        return HashCheck.NO_MATCH
    expected = pepper.mac(presented.message()).hex()
    if not hmac.compare_digest(expected, parts[2]):
        return HashCheck.NO_MATCH
    return HashCheck.MATCH if pepper is peppers.current else HashCheck.MATCH_STALE


def opaque_user_id(pepper: Pepper, key_id: str) -> str:
    """A presence identity for a key that reveals nothing about its key id."""
    return pepper.mac(_USER_ID_LABEL + key_id.encode()).hex()[:_USER_ID_HEX]


def issue_key(
    *,
    rng: random.Random,
    peppers: Peppers,
    name: str,
    tier: str,
    now: datetime,
    expires_at: datetime | None = None,
    user_id: str | None = None,
) -> IssuedKey:
    """A fresh key id and secret from ``rng`` (``random.SystemRandom`` outside tests).

    Args:
        user_id: the presence identity; a new key gets an opaque one, a rotated key the old one's.
    """
    key_id = rng.randbytes(_KEY_ID_BYTES).hex()
    presented = PresentedKey(key_id=key_id, secret=Secret(rng.randbytes(_SECRET_BYTES).hex()))
    record = ApiKey(
        key_id=key_id,
        user_id=user_id if user_id is not None else opaque_user_id(peppers.current, key_id),
        name=name,
        tier=tier,
        key_hash=hash_key(peppers.current, presented),
        created_at=now,
        expires_at=expires_at,
    )
    plain = f"{KEY_PREFIX}{key_id}.{presented.secret.reveal()}"
    return IssuedKey(record=record, plain=Secret(plain))
