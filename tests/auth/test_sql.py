from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from auth import migrate
from auth.errors import KeyStoreError
from auth.keys import ApiKey
from auth.sql import SqlKeyStore, create_engine_for_url, metadata, open_sql_key_store

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def test_postgres_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u@127.0.0.1/db", "postgres://u@127.0.0.1/db"):
        engine = create_engine_for_url(url)
        try:
            assert engine.dialect.driver == "psycopg"
        finally:
            engine.dispose()


def test_the_table_matches_the_migrations(migrated_engine: Engine) -> None:
    """auth.sql.api_keys and migration 0001 describe the same schema."""
    with migrated_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_the_lookup_is_by_primary_key_and_user_id_is_indexed(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    assert inspector.get_pk_constraint("api_keys")["constrained_columns"] == ["key_id"]
    indexed = sorted(ix["column_names"] for ix in inspector.get_indexes("api_keys"))
    assert indexed == [["revoked_at"], ["tier_changed_at"], ["user_id"]]


def test_database_failures_become_key_store_errors(sqlite_engine: Engine) -> None:
    store = SqlKeyStore(engine=sqlite_engine)  # never migrated: no table
    record = ApiKey(key_id="a", user_id="a", name="n", tier="pro", key_hash="h", created_at=NOW)
    with pytest.raises(KeyStoreError):
        store.get("a")
    with pytest.raises(KeyStoreError):
        store.put(record)
    with pytest.raises(KeyStoreError):
        store.list_all()


def test_open_sql_key_store_migrates_and_disposes(sqlite_url: str) -> None:
    record = ApiKey(key_id="a", user_id="a", name="n", tier="pro", key_hash="h", created_at=NOW)
    with open_sql_key_store(sqlite_url) as store:
        store.put(record)
    with open_sql_key_store(sqlite_url, is_migrated=False) as store:
        assert store.get("a") == record
    engine = create_engine_for_url(sqlite_url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_only_a_sqlite_store_is_local(sqlite_engine: Engine) -> None:
    """A local file is read on the event loop (``auth.lookup``); a server never is."""
    assert SqlKeyStore(engine=sqlite_engine).is_local
    engine = create_engine_for_url("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        assert not SqlKeyStore(engine=engine).is_local
    finally:
        engine.dispose()


def test_a_sqlite_lookup_of_one_key_costs_microseconds(sqlite_url: str) -> None:
    """Issue 17: on the event loop, a storm's small batches (often one key) must be cheap;
    through SQLAlchemy's pool and compiler one key cost ~120 µs of CPU, the row itself ~5 µs.
    The bound is generous for a loaded machine and still far under the old cost."""
    with open_sql_key_store(sqlite_url) as store:
        ids = [f"{index:016x}" for index in range(200)]
        for key_id in ids:
            store.put(
                ApiKey(
                    key_id=key_id, user_id="u", name="n", tier="pro", key_hash="h", created_at=NOW
                )
            )
        assert store.get_many([ids[0]]) == {ids[0]: store.get(ids[0])}
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for key_id in ids:
                store.get_many([key_id])
            best = min(best, (time.process_time() - started) / len(ids))
        assert best < 40e-6, f"{best * 1e6:.0f} µs per single-key lookup"
    with pytest.raises(KeyStoreError):  # closed with its engine
        store.get_many([ids[0]])


def test_a_sqlite_lookup_waits_on_a_writer_briefly_not_for_seconds(sqlite_url: str) -> None:
    """It runs on the event loop: sqlite3's default 5 s busy wait would freeze every socket."""
    with open_sql_key_store(sqlite_url) as store:
        assert store.get_many(["a"]) == {}  # the lookup connection is open
        path = sqlite_url.removeprefix("sqlite:///")
        writer = sqlite3.connect(path, isolation_level=None)
        try:
            writer.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            with pytest.raises(KeyStoreError):
                store.get_many(["a"])
            assert time.monotonic() - started < 1.0
        finally:
            writer.execute("ROLLBACK")
            writer.close()
