"""API keys: their wire format, generation (shown once) and the record stored for each.

A key reads ``pk_<key_id>.<secret>``. The ``key_id`` is public and indexed, so a presented key is
found with one primary-key lookup, never a scan; only an argon2id hash of the secret is stored
(argon2-cffi's ``PasswordHasher``, passed in). The secret carries 256 random bits, so the hash
protects a stolen database, not a guessable password.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher

from pusherd.protocol.secret import Secret

__all__ = [
    "KEY_PREFIX",
    "ApiKey",
    "IssuedKey",
    "PresentedKey",
    "issue_key",
    "parse_key",
]

KEY_PREFIX = "pk_"
_KEY_ID_BYTES = 8
_SECRET_BYTES = 32
_KEY_RE = re.compile(r"pk_([0-9a-f]{16})\.([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One stored key. ``user_id`` and ``name`` are what presence members see (§6.1).

    ``user_id`` survives rotation (the new key copies it), so a rotated client keeps its identity
    on presence channels. Times are timezone-aware UTC.
    """

    key_id: str
    user_id: str
    name: str
    tier: str
    secret_hash: str = field(repr=False)
    created_at: datetime
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


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: the record to store and the plain key to show once."""

    record: ApiKey
    plain: Secret


def parse_key(value: str) -> PresentedKey | None:
    """Split ``pk_<key_id>.<secret>``; ``None`` for anything of another shape."""
    match = _KEY_RE.fullmatch(value.strip())
    if match is None:
        return None
    return PresentedKey(key_id=match.group(1), secret=Secret(match.group(2)))


def issue_key(
    *,
    rng: random.Random,
    hasher: PasswordHasher,
    name: str,
    tier: str,
    now: datetime,
    expires_at: datetime | None = None,
    user_id: str | None = None,
) -> IssuedKey:
    """A fresh key id and secret from ``rng`` (``random.SystemRandom`` outside tests).

    Args:
        user_id: the presence identity; a new key gets its own key id, a rotated key the old one's.
    """
    key_id = rng.randbytes(_KEY_ID_BYTES).hex()
    secret = rng.randbytes(_SECRET_BYTES).hex()
    record = ApiKey(
        key_id=key_id,
        user_id=user_id if user_id is not None else key_id,
        name=name,
        tier=tier,
        secret_hash=hasher.hash(secret),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedKey(record=record, plain=Secret(f"{KEY_PREFIX}{key_id}.{secret}"))
