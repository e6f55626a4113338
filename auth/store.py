"""Where API key records live: a three-method seam with an in-memory reference implementation.

The service only ever needs to fetch keys by their public id (the hot path, an indexed lookup,
batched across concurrent requests by ``auth.lookup``), write one record (create, revoke,
rotate), change a tier, replace a legacy hash after a successful verification and list them
(the CLI). :class:`SqlKeyStore` in ``auth.sql`` is the durable implementation; the same
contract suite runs against both. Methods are
synchronous: the database drivers are. The service calls them from a worker thread, except
a local store's lookups (``is_local``), which are cheaper on the event loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from auth.keys import ApiKey

__all__ = ["DB_CONCURRENCY", "KeyStore", "MemoryKeyStore"]

#: Lookups the verifier runs at once (in worker threads); SQL pools hold this many connections,
#: so a storm of first verifications never waits on a pool timeout.
DB_CONCURRENCY = 8


class KeyStore(Protocol):
    """Storage of :class:`ApiKey` records, addressed by ``key_id``.

    Implementations raise :class:`auth.errors.KeyStoreError` when the storage fails.
    """

    #: Queries are a local read of microseconds (SQLite, memory): ``auth.lookup`` runs them on
    #: the event loop, where a worker-thread hop would cost more than the query itself.
    is_local: bool

    def get(self, key_id: str) -> ApiKey | None:
        """The record for ``key_id``, or ``None`` when there is none."""
        ...

    def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        """The records of those ``key_ids`` that exist, by key id (one indexed query)."""
        ...

    def put(self, record: ApiKey) -> None:
        """Insert the record, or replace the one with the same ``key_id``."""
        ...

    def rehash(self, key_id: str, key_hash: str, user_id: str) -> None:
        """Store ``key_hash`` in place of a legacy or stale hash; nothing else changes.

        Only the hash columns are written (and ``user_id`` only where it still equals the key
        id), so a revocation made meanwhile is never undone.
        """
        ...

    def set_tier(self, key_id: str, tier: str, at: datetime) -> None:
        """Change the key's tier, noting when (``keys set-tier``); nothing else changes."""
        ...

    def list_all(self) -> Sequence[ApiKey]:
        """Every record, oldest first."""
        ...


class MemoryKeyStore:
    """A dict; the reference semantics, and the default in tests."""

    __slots__ = ("_records",)

    is_local = True

    def __init__(self) -> None:
        self._records: dict[str, ApiKey] = {}

    def get(self, key_id: str) -> ApiKey | None:
        return self._records.get(key_id)

    def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        return {k: self._records[k] for k in key_ids if k in self._records}

    def put(self, record: ApiKey) -> None:
        self._records[record.key_id] = record

    def rehash(self, key_id: str, key_hash: str, user_id: str) -> None:
        record = self._records.get(key_id)
        if record is None:
            return
        self._records[key_id] = dataclasses.replace(
            record,
            key_hash=key_hash,
            secret_hash=None,
            user_id=user_id if record.user_id == record.key_id else record.user_id,
        )

    def set_tier(self, key_id: str, tier: str, at: datetime) -> None:
        record = self._records.get(key_id)
        if record is not None:
            self._records[key_id] = dataclasses.replace(record, tier=tier)

    def list_all(self) -> Sequence[ApiKey]:
        return sorted(self._records.values(), key=lambda r: (r.created_at, r.key_id))
