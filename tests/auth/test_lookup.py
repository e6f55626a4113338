"""Batched key lookups: many concurrent lookups share few queries, and none is ever left waiting."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from auth.errors import KeyStoreError
from auth.keys import ApiKey
from auth.lookup import KeyLookup
from auth.store import MemoryKeyStore

NOW = datetime(2027, 1, 1, tzinfo=UTC)


class _CountingStore(MemoryKeyStore):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[int] = []
        self.is_broken = False

    def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        self.queries.append(len(key_ids))
        if self.is_broken:
            raise KeyStoreError("down")
        return super().get_many(key_ids)


def _store(count: int) -> _CountingStore:
    store = _CountingStore()
    for index in range(count):
        key_id = f"{index:016x}"
        store.put(ApiKey(key_id=key_id, user_id="u", name="n", tier="pro", created_at=NOW))
    return store


async def test_concurrent_lookups_share_batched_queries() -> None:
    store = _store(500)
    lookup = KeyLookup(store=store, max_batch=256)
    ids = [f"{index:016x}" for index in range(500)] + ["f" * 16]
    found = await asyncio.gather(*(lookup.get(key_id) for key_id in ids))
    assert [r.key_id if r else None for r in found] == [*ids[:-1], None]
    assert sum(store.queries) == 501 and len(store.queries) <= 3


async def test_a_lookup_arriving_as_a_batch_ends_is_still_served() -> None:
    """A regression: the batch counter was released one loop turn late, stranding a lookup
    made by a caller woken by the batch that was just ending (one lookup after another)."""
    store = _store(20)
    lookup = KeyLookup(store=store, max_batches=1)

    async def one_after_another() -> None:
        for index in range(20):
            assert await lookup.get(f"{index:016x}") is not None

    async with asyncio.timeout(2):
        await one_after_another()


async def test_a_store_failure_reaches_every_waiter_as_key_store_error() -> None:
    store = _store(3)
    store.is_broken = True
    lookup = KeyLookup(store=store)
    outcomes = await asyncio.gather(
        *(lookup.get(f"{index:016x}") for index in range(3)), return_exceptions=True
    )
    assert all(isinstance(outcome, KeyStoreError) for outcome in outcomes)


class _ThreadRecordingStore(MemoryKeyStore):
    """Records which thread each query ran on."""

    def __init__(self, *, is_local: bool) -> None:
        super().__init__()
        self.is_local = is_local
        self.threads: list[int] = []

    def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        self.threads.append(threading.get_ident())
        return super().get_many(key_ids)


async def test_a_local_store_is_queried_on_the_event_loop_in_batches() -> None:
    """Issue 17: a SQLite row is a few µs; a worker-thread hop cost more than the query."""
    store = _ThreadRecordingStore(is_local=True)
    for index in range(300):
        key_id = f"{index:016x}"
        store.put(ApiKey(key_id=key_id, user_id="u", name="n", tier="pro", created_at=NOW))
    lookup = KeyLookup(store=store)
    found = await asyncio.gather(*(lookup.get(f"{index:016x}") for index in range(300)))
    assert all(record is not None for record in found)
    assert set(store.threads) == {threading.get_ident()}
    assert len(store.threads) <= 5  # still batched


async def test_a_networked_store_is_queried_in_a_worker_thread() -> None:
    store = _ThreadRecordingStore(is_local=False)
    store.put(ApiKey(key_id="0" * 16, user_id="u", name="n", tier="pro", created_at=NOW))
    lookup = KeyLookup(store=store)
    assert await lookup.get("0" * 16) is not None
    assert store.threads and threading.get_ident() not in store.threads
