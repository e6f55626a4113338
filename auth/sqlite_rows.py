"""Key rows by primary key straight from SQLite's own driver: the event loop's lookup path.

Why: on the event loop (``auth.lookup``) a storm's batches are small, often one key, and
SQLAlchemy's pool checkout and statement compilation cost ~120 µs per batch against ~5 µs for
the row itself (measured here). One connection of its own (opened on first use) with one
statement text, which the driver's statement cache keeps prepared. Without an open
transaction the connection holds no lock, so it never blocks a writer; a writer's brief
exclusive lock (its commit) is waited for at most :data:`BUSY_TIMEOUT_S` (the default 5 s would
freeze the event loop), after which the lookup fails as unavailable (503). Rows come back in the
column order of ``auth.sql``'s lookup query, which decodes them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from auth.errors import KeyStoreError

__all__ = ["BUSY_TIMEOUT_S", "SqliteRowReader"]

#: Longest wait on the event loop for a writer's commit to finish.
BUSY_TIMEOUT_S = 0.1

_GET_ONE = (
    "SELECT key_id, user_id, name, tier, key_hash, secret_hash, created_at, expires_at,"
    " revoked_at FROM api_keys WHERE key_id = ?"
)


class SqliteRowReader:
    """``rows(key_ids)`` → the raw rows of those keys that exist; ``close()`` ends it."""

    __slots__ = ("_conn", "_is_closed", "_lock", "_path")

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # uncontended on the loop; a worker thread may call too
        self._is_closed = False

    def rows(self, key_ids: Sequence[str]) -> list[Any]:
        """Raises :class:`KeyStoreError` when SQLite fails or the reader is closed."""
        try:
            with self._lock:
                if self._is_closed:
                    raise KeyStoreError("the key store is closed")
                conn = self._conn
                if conn is None:
                    conn = sqlite3.connect(
                        self._path, timeout=BUSY_TIMEOUT_S, check_same_thread=False
                    )
                    self._conn = conn
                return [row for key_id in key_ids for row in conn.execute(_GET_ONE, (key_id,))]
        except sqlite3.Error as exc:
            raise KeyStoreError("key lookup failed") from exc

    def close(self) -> None:
        with self._lock:
            self._is_closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
