"""Migrations up and down on real SQLite and real PostgreSQL, with keys that must survive them."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from auth import migrate
from auth.cache import VerificationCache
from auth.keys import issue_key
from auth.ratelimit import FailureLimiter, FailureLimits
from auth.sql import SqlKeyStore
from auth.verifier import KeyVerifier
from tests.auth.conftest import PEPPERS, CountingHasher, FakeClock


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    fixture: Engine = request.getfixturevalue(f"{request.param}_engine")
    return fixture


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_then_downgrade_then_upgrade_again(engine: Engine) -> None:
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision() == "0003"
    assert "api_keys" in _tables(engine)
    migrate.upgrade(engine)  # already at head: a no-op
    assert migrate.current_revision(engine) == "0003"
    migrate.downgrade(engine)
    assert migrate.current_revision(engine) is None
    assert "api_keys" not in _tables(engine)
    migrate.upgrade(engine, "0001")
    assert migrate.current_revision(engine) == "0001"


def _verifier(engine: Engine, hasher: CountingHasher, clock: FakeClock) -> KeyVerifier:
    return KeyVerifier(
        store=SqlKeyStore(engine=engine),
        peppers=PEPPERS,
        hasher=hasher,
        cache=VerificationCache(digest_key=b"d" * 32),
        clock=clock,
        address_limiter=FailureLimiter(FailureLimits(max_failures=20, window_s=60)),
        key_limiter=FailureLimiter(FailureLimits(max_failures=10, window_s=60)),
    )


async def test_an_argon2_key_survives_0002_and_is_rehashed_on_first_use(
    engine: Engine, hasher: CountingHasher, clock: FakeClock
) -> None:
    """Issue 17: the migration loses nothing, and the first success stores the HMAC form."""
    migrate.upgrade(engine, "0001")
    issued = issue_key(
        rng=random.Random(3), peppers=PEPPERS, name="Old", tier="pro", now=datetime.now(UTC)
    )
    secret = issued.plain.reveal().split(".", 1)[1]
    legacy = dataclasses.replace(issued.record, user_id=issued.record.key_id)
    with engine.begin() as conn:  # a row exactly as the argon2 version wrote it
        conn.execute(
            sa.text(
                "INSERT INTO api_keys (key_id, user_id, name, tier, secret_hash, created_at)"
                " VALUES (:key_id, :user_id, :name, :tier, :secret_hash, :created_at)"
            ),
            {
                "key_id": legacy.key_id,
                "user_id": legacy.user_id,
                "name": legacy.name,
                "tier": legacy.tier,
                "secret_hash": hasher.hash(secret),
                "created_at": legacy.created_at,
            },
        )
    migrate.upgrade(engine)
    stored = SqlKeyStore(engine=engine).get(legacy.key_id)
    assert stored is not None and stored.key_hash is None and stored.secret_hash is not None

    record = await _verifier(engine, hasher, clock).verify(
        issued.plain.reveal(), client_address="10.0.0.1"
    )
    assert record.key_id == legacy.key_id and hasher.verify_count == 1
    stored = SqlKeyStore(engine=engine).get(legacy.key_id)
    assert stored is not None and stored.secret_hash is None
    assert stored.key_hash is not None and stored.key_hash.startswith("hmac-sha256$")
    assert stored.user_id == record.user_id != legacy.key_id

    cold = _verifier(engine, hasher, clock)  # another node: no cache, no argon2
    assert (await cold.verify(issued.plain.reveal(), client_address="10.0.0.1")).key_id == (
        legacy.key_id
    )
    assert hasher.verify_count == 1


def test_downgrading_makes_hmac_only_keys_unusable_not_invalid_rows(engine: Engine) -> None:
    migrate.upgrade(engine)
    issued = issue_key(
        rng=random.Random(4), peppers=PEPPERS, name="New", tier="pro", now=datetime.now(UTC)
    )
    SqlKeyStore(engine=engine).put(issued.record)
    migrate.downgrade(engine, "0001")
    with engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT secret_hash FROM api_keys")).scalars().all()
    assert hashes == ["!"]
