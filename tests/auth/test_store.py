"""One contract for every KeyStore: memory, SQLite and PostgreSQL (real databases)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from auth.keys import ApiKey
from auth.sql import SqlKeyStore
from auth.store import KeyStore, MemoryKeyStore
from tests.auth.conftest import migrated_engine_for

NOW = datetime(2027, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[KeyStore]:
    if request.param == "memory":
        yield MemoryKeyStore()
        return
    for engine in migrated_engine_for(request, request.param):
        yield SqlKeyStore(engine=engine)


def _record(key_id: str, *, created_at: datetime = NOW) -> ApiKey:
    return ApiKey(
        key_id=key_id,
        user_id=f"user-{key_id}",
        name=f"name {key_id}",
        tier="pro",
        secret_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
        created_at=created_at,
    )


def test_get_of_an_unknown_id_is_none(store: KeyStore) -> None:
    assert store.get("0000000000000000") is None


def test_put_then_get_round_trips_every_field(store: KeyStore) -> None:
    record = dataclasses.replace(
        _record("a1"), expires_at=NOW + timedelta(days=30), revoked_at=NOW + timedelta(hours=1)
    )
    store.put(record)
    assert store.get("a1") == record
    fetched = store.get("a1")
    assert fetched is not None and fetched.created_at.tzinfo is not None


def test_put_replaces_the_record_with_the_same_id(store: KeyStore) -> None:
    store.put(_record("a1"))
    revoked = dataclasses.replace(_record("a1"), revoked_at=NOW)
    store.put(revoked)
    assert store.get("a1") == revoked
    assert len(store.list_all()) == 1


def test_list_is_oldest_first(store: KeyStore) -> None:
    store.put(_record("b2", created_at=NOW + timedelta(seconds=1)))
    store.put(_record("a1", created_at=NOW + timedelta(seconds=2)))
    store.put(_record("c3", created_at=NOW))
    assert [record.key_id for record in store.list_all()] == ["c3", "b2", "a1"]


def test_get_many_round_trips_every_field_and_skips_unknown_ids(store: KeyStore) -> None:
    first = dataclasses.replace(
        _record("a1"), expires_at=NOW + timedelta(days=30), revoked_at=NOW + timedelta(hours=1)
    )
    second = dataclasses.replace(_record("b2"), key_hash="hmac-sha256$0$1", secret_hash=None)
    store.put(first)
    store.put(second)
    found = store.get_many(["a1", "b2", "0000000000000000"])
    assert found == {"a1": first, "b2": second}
    assert all(record.created_at.tzinfo is not None for record in found.values())
    assert store.get_many([]) == {}


def test_rehash_replaces_the_hash_and_keeps_everything_else(store: KeyStore) -> None:
    legacy = dataclasses.replace(_record("a1"), user_id="a1", revoked_at=NOW)
    store.put(legacy)
    store.rehash("a1", "hmac-sha256$f$00", "opaque-id")
    assert store.get("a1") == dataclasses.replace(
        legacy, key_hash="hmac-sha256$f$00", secret_hash=None, user_id="opaque-id"
    )
    named = _record("b2")  # a chosen presence id (user-b2) is never replaced
    store.put(named)
    store.rehash("b2", "hmac-sha256$f$01", "opaque-id-2")
    fetched = store.get("b2")
    assert fetched is not None and fetched.user_id == "user-b2"
    store.rehash("0000000000000000", "x", "y")  # unknown: nothing happens


def test_set_tier_changes_only_the_tier(store: KeyStore) -> None:
    revoked = dataclasses.replace(_record("a1"), revoked_at=NOW)
    store.put(revoked)
    store.set_tier("a1", "free", NOW + timedelta(minutes=1))
    assert store.get("a1") == dataclasses.replace(revoked, tier="free")
    store.set_tier("0000000000000000", "free", NOW)  # unknown: nothing happens


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_tier_changes_are_found_by_time(request: pytest.FixtureRequest, backend: str) -> None:
    for engine in migrated_engine_for(request, backend):
        store = SqlKeyStore(engine=engine)
        store.put(_record("a1"))
        store.put(_record("b2"))
        store.set_tier("a1", "free", NOW + timedelta(seconds=10))
        assert store.tier_changed_since(NOW) == [("a1", "free", NOW + timedelta(seconds=10))]
        assert store.tier_changed_since(NOW + timedelta(seconds=10)) == []
