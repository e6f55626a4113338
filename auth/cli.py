"""The ``keys`` commands: create (the key is shown once), list, revoke, rotate, set-tier.

Each command is a function of its collaborators and an output stream, so tests run them against
a real database without a subprocess. Revoke and rotate call ``announce(key_id)``, which
``auth.__main__`` wires to a Redis publish when ``REDIS_URL`` is set, so serving nodes drop
their cached verifications at once instead of after the cache TTL. Set-tier calls
``announce_tier(key_id, tier)`` (a Redis publish too), so nodes close the sockets the old tier
authorised (issue 10 item 7).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TextIO

from auth.clock import Clock
from auth.keys import ApiKey, issue_key
from auth.pepper import Peppers
from auth.store import KeyStore
from auth.tiers import TierTable

__all__ = [
    "CommandError",
    "create_key",
    "list_keys",
    "revoke_key",
    "rotate_key",
    "set_tier",
]

Announce = Callable[[str], None]
AnnounceTier = Callable[[str, str], None]


class CommandError(Exception):
    """A user mistake (unknown tier or key id); ``auth.__main__`` prints it and exits 1."""


def _now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), UTC)


def _when(value: datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(record: ApiKey, now: datetime) -> str:
    if record.revoked_at is not None and record.revoked_at <= now:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= now:
        return "expired"
    return "active"


def _show_new(record: ApiKey, plain: str, out: TextIO) -> None:
    out.write(
        f"key_id   {record.key_id}\nuser_id  {record.user_id}\nname     {record.name}\n"
        f"tier     {record.tier}\nexpires  {_when(record.expires_at)}\n\n"
        "API key (shown only now; store it safely, it cannot be recovered):\n"
        f"{plain}\n"
    )


def create_key(
    *,
    store: KeyStore,
    tiers: TierTable,
    peppers: Peppers,
    rng: random.Random,
    clock: Clock,
    name: str,
    tier: str,
    expires_in_s: float | None,
    user_id: str | None,
    out: TextIO,
) -> ApiKey:
    """Issue a key, store its HMAC hash and print the plain key once."""
    if tiers.get(tier) is None:
        raise CommandError(f"unknown tier {tier!r}; configured: {', '.join(tiers.names)}")
    if not name.strip():
        raise CommandError("the key needs a non-empty --name")
    now = _now(clock)
    expires_at = None if expires_in_s is None else now + timedelta(seconds=expires_in_s)
    issued = issue_key(
        rng=rng,
        peppers=peppers,
        name=name,
        tier=tier,
        now=now,
        expires_at=expires_at,
        user_id=user_id,
    )
    store.put(issued.record)
    _show_new(issued.record, issued.plain.reveal(), out)
    return issued.record


def list_keys(*, store: KeyStore, clock: Clock, out: TextIO) -> None:
    """One line per key: id, user, tier, status, created, expires, name (no hashes)."""
    now = _now(clock)
    out.write(
        f"{'key_id':<16}  {'user_id':<16}  {'tier':<10}  {'status':<7}  "
        f"{'created':<20}  {'expires':<20}  name\n"
    )
    for record in store.list_all():
        out.write(
            f"{record.key_id:<16}  {record.user_id:<16}  {record.tier:<10}  "
            f"{_status(record, now):<7}  {_when(record.created_at):<20}  "
            f"{_when(record.expires_at):<20}  {record.name}\n"
        )


def _existing(store: KeyStore, key_id: str) -> ApiKey:
    record = store.get(key_id)
    if record is None:
        raise CommandError(f"no key with id {key_id!r}")
    return record


def revoke_key(
    *, store: KeyStore, clock: Clock, key_id: str, announce: Announce, out: TextIO
) -> ApiKey:
    """Mark the key revoked now; serving nodes refuse it within the revocation bound."""
    record = _existing(store, key_id)
    if record.revoked_at is None:
        record = dataclasses.replace(record, revoked_at=_now(clock))
        store.put(record)
    announce(key_id)
    out.write(f"revoked {key_id}\n")
    return record


def rotate_key(
    *,
    store: KeyStore,
    peppers: Peppers,
    rng: random.Random,
    clock: Clock,
    key_id: str,
    grace_s: float,
    announce: Announce,
    out: TextIO,
) -> ApiKey:
    """A new key with the same user id, name, tier and expiry; the old one ends.

    With ``grace_s`` 0 the old key is revoked now; otherwise it expires ``grace_s`` from now, so
    clients can switch over. Presence identity (``user_id``) carries over to the new key.
    """
    old = _existing(store, key_id)
    now = _now(clock)
    if old.revoked_at is not None and old.revoked_at <= now:
        raise CommandError(f"key {key_id!r} is revoked; create a new key instead")
    issued = issue_key(
        rng=rng,
        peppers=peppers,
        name=old.name,
        tier=old.tier,
        now=now,
        expires_at=old.expires_at,
        user_id=old.user_id,
    )
    store.put(issued.record)
    if grace_s <= 0:
        ended = dataclasses.replace(old, revoked_at=now)
    else:
        end = now + timedelta(seconds=grace_s)
        ended = dataclasses.replace(
            old, expires_at=end if old.expires_at is None else min(old.expires_at, end)
        )
    store.put(ended)
    announce(key_id)
    out.write(f"rotated {key_id} (old key ends {_when(ended.revoked_at or ended.expires_at)})\n")
    _show_new(issued.record, issued.plain.reveal(), out)
    return issued.record


def set_tier(
    *,
    store: KeyStore,
    tiers: TierTable,
    clock: Clock,
    key_id: str,
    tier: str,
    announce_tier: AnnounceTier,
    out: TextIO,
) -> ApiKey:
    """Give the key another tier; serving nodes re-check its sockets within the revocation bound.

    Announced even when the tier is unchanged, so running it again repairs a missed message.
    """
    if tiers.get(tier) is None:
        raise CommandError(f"unknown tier {tier!r}; configured: {', '.join(tiers.names)}")
    record = _existing(store, key_id)
    now = _now(clock)
    if record.revoked_at is not None and record.revoked_at <= now:
        raise CommandError(f"key {key_id!r} is revoked; create a new key instead")
    store.set_tier(key_id, tier, now)
    announce_tier(key_id, tier)
    out.write(f"key {key_id}: tier {record.tier} -> {tier}\n")
    return dataclasses.replace(record, tier=tier)
