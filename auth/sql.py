"""The durable key store: one ``api_keys`` table through SQLAlchemy 2 Core.

SQLAlchemy + Alembic because they are the best-kept option that speaks both targets with one
schema: SQLite (a local file, the embedded default) and PostgreSQL (``DATABASE_URL``), with
versioned up/down migrations (``auth/migrations``). Core, not the ORM: the store is four
statements over one table and maps rows to frozen :class:`~auth.keys.ApiKey` values itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from auth.errors import KeyStoreError
from auth.keys import ApiKey
from auth.sqlite_rows import SqliteRowReader
from auth.store import DB_CONCURRENCY

__all__ = [
    "DEFAULT_DATABASE_URL",
    "POOL_SIZE",
    "SqlKeyStore",
    "api_keys",
    "create_engine_for_url",
    "metadata",
    "open_sql_key_store",
]

DEFAULT_DATABASE_URL = "sqlite:///pusherd-auth.sqlite3"

metadata = sa.MetaData()

#: Mirrors migrations 0001 to 0003; a test compares the two so they cannot drift apart.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("tier", sa.String(64), nullable=False),
    sa.Column("secret_hash", sa.String(255), nullable=True),
    sa.Column("key_hash", sa.String(128), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True, index=True),
    sa.Column("tier_changed_at", sa.DateTime(timezone=True), nullable=True, index=True),
)


#: Connections the pool keeps: as many as the verifier's concurrent lookups.
POOL_SIZE = DB_CONCURRENCY


_GET_MANY = sa.text(
    "SELECT key_id, user_id, name, tier, key_hash, secret_hash, created_at, expires_at,"
    " revoked_at FROM api_keys WHERE key_id IN :key_ids"
).bindparams(sa.bindparam("key_ids", expanding=True, type_=sa.String()))


def _moment(value: datetime | str | None) -> datetime | None:
    """A raw driver value: PostgreSQL gives datetimes, SQLite the ISO text it stored."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _utc(value)


def create_engine_for_url(url: str) -> Engine:
    """An engine for ``sqlite:///file`` or ``postgresql://…`` (psycopg 3 is the driver).

    The caller owns the engine and calls ``dispose()``. SQLite connections may be used from the
    worker threads the service runs queries in, one at a time (the pool guarantees that). The
    pool holds :data:`POOL_SIZE` connections, the most lookups the verifier runs at once.
    """
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        connect_args["check_same_thread"] = False
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return sa.create_engine(parsed, connect_args=connect_args)
    return sa.create_engine(
        parsed, connect_args=connect_args, pool_size=POOL_SIZE, max_overflow=POOL_SIZE
    )


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC, so say so."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _row_to_key(row: sa.Row[Any]) -> ApiKey:
    created_at = _utc(row.created_at)
    assert created_at is not None  # NOT NULL column
    return ApiKey(
        key_id=row.key_id,
        user_id=row.user_id,
        name=row.name,
        tier=row.tier,
        key_hash=row.key_hash,
        secret_hash=row.secret_hash,
        created_at=created_at,
        expires_at=_utc(row.expires_at),
        revoked_at=_utc(row.revoked_at),
    )


def _key_to_values(record: ApiKey) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "user_id": record.user_id,
        "name": record.name,
        "tier": record.tier,
        "key_hash": record.key_hash,
        "secret_hash": record.secret_hash,
        "created_at": _utc(record.created_at),
        "expires_at": _utc(record.expires_at),
        "revoked_at": _utc(record.revoked_at),
    }


class SqlKeyStore:
    """:class:`~auth.store.KeyStore` over an engine the caller owns (schema from migrations)."""

    __slots__ = ("_engine", "_sqlite_rows", "is_local")

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        # SQLite reads a local file: a primary-key row is a few µs, cheaper on the event loop
        # than a thread hand-off (``auth.sqlite_rows``). A server (PostgreSQL) may stall on
        # the network, so its queries stay in a worker thread.
        self.is_local = engine.dialect.name == "sqlite"
        database = engine.url.database
        self._sqlite_rows = (
            SqliteRowReader(database)
            if self.is_local and database not in (None, "", ":memory:")
            else None
        )

    def close(self) -> None:
        """Close the SQLite lookup connection; lookups then fail (the engine is the caller's)."""
        if self._sqlite_rows is not None:
            self._sqlite_rows.close()

    def get(self, key_id: str) -> ApiKey | None:
        return self.get_many([key_id]).get(key_id)

    def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        """One ``IN`` query on the primary key; rows decoded by hand (the hot path of a storm).

        Untyped text columns skip SQLAlchemy's per-value result processing (a regex per
        SQLite datetime), which was most of the cost per key.
        """
        rows: Sequence[Sequence[Any]]
        if self._sqlite_rows is not None:
            rows = self._sqlite_rows.rows(key_ids)
        else:
            try:
                with self._engine.connect() as conn:
                    rows = conn.execute(_GET_MANY, {"key_ids": list(key_ids)}).all()
            except SQLAlchemyError as exc:
                raise KeyStoreError("key lookup failed") from exc
        keys = {}
        for key_id, user_id, name, tier, key_hash, secret_hash, created, expires, revoked in rows:
            created_at = _moment(created)
            assert created_at is not None  # NOT NULL column
            keys[key_id] = ApiKey(
                key_id=key_id,
                user_id=user_id,
                name=name,
                tier=tier,
                created_at=created_at,
                key_hash=key_hash,
                secret_hash=secret_hash,
                expires_at=_moment(expires),
                revoked_at=_moment(revoked),
            )
        return keys

    def put(self, record: ApiKey) -> None:
        values = _key_to_values(record)
        try:
            with self._engine.begin() as conn:
                updated = conn.execute(
                    sa.update(api_keys).where(api_keys.c.key_id == record.key_id).values(values)
                )
                if updated.rowcount == 0:
                    conn.execute(sa.insert(api_keys).values(values))
        except SQLAlchemyError as exc:
            raise KeyStoreError("key write failed") from exc

    def rehash(self, key_id: str, key_hash: str, user_id: str) -> None:
        query = (
            sa.update(api_keys)
            .where(api_keys.c.key_id == key_id)
            .values(
                key_hash=key_hash,
                secret_hash=None,
                # Only a presence id that still is the public key id is replaced.
                user_id=sa.case(
                    (api_keys.c.user_id == api_keys.c.key_id, user_id), else_=api_keys.c.user_id
                ),
            )
        )
        try:
            with self._engine.begin() as conn:
                conn.execute(query)
        except SQLAlchemyError as exc:
            raise KeyStoreError("key re-hash failed") from exc

    def set_tier(self, key_id: str, tier: str, at: datetime) -> None:
        """Only ``tier`` and ``tier_changed_at`` are written, so nothing else is undone."""
        query = (
            sa.update(api_keys)
            .where(api_keys.c.key_id == key_id)
            .values(tier=tier, tier_changed_at=_utc(at))
        )
        try:
            with self._engine.begin() as conn:
                conn.execute(query)
        except SQLAlchemyError as exc:
            raise KeyStoreError("tier change failed") from exc

    def tier_changed_since(self, since: datetime) -> list[tuple[str, str, datetime]]:
        """``(key_id, tier, tier_changed_at)`` of keys whose tier changed after ``since``."""
        query = sa.select(api_keys.c.key_id, api_keys.c.tier, api_keys.c.tier_changed_at).where(
            api_keys.c.tier_changed_at > since
        )
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise KeyStoreError("tier change query failed") from exc
        out = []
        for key_id, tier, changed_at in rows:
            moment = _utc(changed_at)
            assert moment is not None  # filtered on
            out.append((str(key_id), str(tier), moment))
        return out

    def revoked_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """``(key_id, revoked_at)`` of keys revoked after ``since`` (indexed; for polling)."""
        query = sa.select(api_keys.c.key_id, api_keys.c.revoked_at).where(
            api_keys.c.revoked_at > since
        )
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise KeyStoreError("revocation query failed") from exc
        out = []
        for key_id, revoked_at in rows:
            moment = _utc(revoked_at)
            assert moment is not None  # filtered on
            out.append((str(key_id), moment))
        return out

    def list_all(self) -> Sequence[ApiKey]:
        query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise KeyStoreError("key listing failed") from exc
        return [_row_to_key(row) for row in rows]


@contextlib.contextmanager
def open_sql_key_store(url: str, *, is_migrated: bool = True) -> Iterator[SqlKeyStore]:
    """A store on a new engine for ``url``, migrated to the latest schema; disposed on exit.

    For a host (pusherd's lifespan) that only has ``DATABASE_URL``::

        with open_sql_key_store(settings.database_url) as store:
            app = build_auth_app(store=store, ...)
    """
    from auth import migrate  # alembic is only needed here, not by every store user

    engine = create_engine_for_url(url)
    try:
        if is_migrated:
            migrate.upgrade(engine)
        store = SqlKeyStore(engine=engine)
        try:
            yield store
        finally:
            store.close()
    finally:
        engine.dispose()
