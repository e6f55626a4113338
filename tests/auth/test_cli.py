"""The keys commands against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from auth.cli import CommandError, create_key, list_keys, revoke_key, rotate_key, set_tier
from auth.keys import parse_key
from auth.sql import SqlKeyStore
from auth.tiers import default_tiers
from tests.auth.conftest import PEPPERS, CountingHasher, FakeClock


@pytest.fixture
def store(migrated_engine: Engine) -> Iterator[SqlKeyStore]:
    yield SqlKeyStore(engine=migrated_engine)


def _create(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock, out: io.StringIO, **kw: Any
) -> str:
    del hasher  # keys are HMAC-hashed under the pepper; argon2 is only for legacy keys
    args: dict[str, Any] = {
        "name": "Ada",
        "tier": "pro",
        "expires_in_s": None,
        "user_id": None,
        **kw,
    }
    create_key(
        store=store,
        tiers=default_tiers(),
        peppers=PEPPERS,
        rng=random.Random(3),
        clock=clock,
        out=out,
        **args,
    )
    return out.getvalue().strip().splitlines()[-1]


def test_create_shows_the_key_once_and_stores_only_its_hash(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    out = io.StringIO()
    plain = _create(store, hasher, clock, out)
    presented = parse_key(plain)
    assert presented is not None
    record = store.get(presented.key_id)
    assert record is not None
    assert record.key_hash is not None and record.key_hash.startswith("hmac-sha256$")
    assert record.secret_hash is None
    assert presented.secret.reveal() not in record.key_hash
    listing = io.StringIO()
    list_keys(store=store, clock=clock, out=listing)
    assert presented.secret.reveal() not in listing.getvalue()
    assert record.key_hash not in listing.getvalue()
    assert f"{record.key_id}" in listing.getvalue() and "active" in listing.getvalue()


def test_create_with_expiry_lists_as_expired_later(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    _create(store, hasher, clock, io.StringIO(), expires_in_s=60.0)
    clock.advance(61)
    listing = io.StringIO()
    list_keys(store=store, clock=clock, out=listing)
    assert "expired" in listing.getvalue()


def test_create_refuses_an_unknown_tier_and_an_empty_name(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    with pytest.raises(CommandError, match="unknown tier"):
        _create(store, hasher, clock, io.StringIO(), tier="gold")
    with pytest.raises(CommandError, match="name"):
        _create(store, hasher, clock, io.StringIO(), name="  ")
    assert store.list_all() == []


def test_revoke_marks_the_key_and_announces_it(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    presented = parse_key(_create(store, hasher, clock, io.StringIO()))
    assert presented is not None
    announced: list[str] = []
    revoke_key(
        store=store,
        clock=clock,
        key_id=presented.key_id,
        announce=announced.append,
        out=io.StringIO(),
    )
    record = store.get(presented.key_id)
    assert record is not None and record.revoked_at is not None
    assert announced == [presented.key_id]
    with pytest.raises(CommandError, match="no key"):
        revoke_key(
            store=store, clock=clock, key_id="0" * 16, announce=announced.append, out=io.StringIO()
        )


def test_rotate_keeps_the_identity_and_ends_the_old_key(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    old = parse_key(_create(store, hasher, clock, io.StringIO(), user_id="fan-42"))
    assert old is not None
    announced: list[str] = []
    out = io.StringIO()
    new_record = rotate_key(
        store=store,
        peppers=PEPPERS,
        rng=random.Random(8),
        clock=clock,
        key_id=old.key_id,
        grace_s=0,
        announce=announced.append,
        out=out,
    )
    assert new_record.key_id != old.key_id
    assert (new_record.user_id, new_record.tier, new_record.name) == ("fan-42", "pro", "Ada")
    new_plain = parse_key(out.getvalue().strip().splitlines()[-1])
    assert new_plain is not None and new_plain.key_id == new_record.key_id
    old_record = store.get(old.key_id)
    assert old_record is not None and old_record.revoked_at is not None
    assert announced == [old.key_id]
    with pytest.raises(CommandError, match="revoked"):
        rotate_key(
            store=store,
            peppers=PEPPERS,
            rng=random.Random(9),
            clock=clock,
            key_id=old.key_id,
            grace_s=0,
            announce=announced.append,
            out=io.StringIO(),
        )


def test_rotate_with_grace_lets_the_old_key_expire_later(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    old = parse_key(_create(store, hasher, clock, io.StringIO()))
    assert old is not None
    rotate_key(
        store=store,
        peppers=PEPPERS,
        rng=random.Random(8),
        clock=clock,
        key_id=old.key_id,
        grace_s=3600,
        announce=lambda key_id: None,
        out=io.StringIO(),
    )
    old_record = store.get(old.key_id)
    assert old_record is not None and old_record.revoked_at is None
    assert old_record.expires_at is not None
    assert old_record.expires_at.timestamp() == pytest.approx(clock.time() + 3600)


def test_set_tier_stores_the_tier_and_announces_it(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    presented = parse_key(_create(store, hasher, clock, io.StringIO()))
    assert presented is not None
    announced: list[tuple[str, str]] = []
    out = io.StringIO()
    set_tier(
        store=store,
        tiers=default_tiers(),
        clock=clock,
        key_id=presented.key_id,
        tier="free",
        announce_tier=lambda key_id, tier: announced.append((key_id, tier)),
        out=out,
    )
    record = store.get(presented.key_id)
    assert record is not None and record.tier == "free"
    assert announced == [(presented.key_id, "free")]
    assert "pro -> free" in out.getvalue()
    assert presented.secret.reveal() not in out.getvalue()


def test_set_tier_refuses_an_unknown_tier_or_key_and_a_revoked_key(
    store: SqlKeyStore, hasher: CountingHasher, clock: FakeClock
) -> None:
    presented = parse_key(_create(store, hasher, clock, io.StringIO()))
    assert presented is not None
    args: dict[str, Any] = {
        "store": store,
        "tiers": default_tiers(),
        "clock": clock,
        "announce_tier": lambda key_id, tier: None,
        "out": io.StringIO(),
    }
    with pytest.raises(CommandError, match="unknown tier"):
        set_tier(key_id=presented.key_id, tier="platinum", **args)
    with pytest.raises(CommandError, match="no key"):
        set_tier(key_id="0" * 16, tier="free", **args)
    revoke_key(
        store=store,
        clock=clock,
        key_id=presented.key_id,
        announce=lambda k: None,
        out=io.StringIO(),
    )
    with pytest.raises(CommandError, match="revoked"):
        set_tier(key_id=presented.key_id, tier="free", **args)
    record = store.get(presented.key_id)
    assert record is not None and record.tier == "pro"
