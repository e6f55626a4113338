"""Key lookups batched across concurrent requests: one worker-thread hop and one query for many.

Why: on a cold node every first verification needs its record, and a reconnect storm brings
thousands of distinct keys at once. Fetched one by one, each costs a thread hand-off and a
statement (about half a millisecond of CPU, more than the rest of the request); fetched in
batches, the same query (``key_id IN (…)``, still the primary-key index) serves up to
``max_batch`` keys, so a cold node answers about as fast as a warm one. A lone request is not
delayed: a batch starts on the next turn of the event loop after a lookup arrives (taking every
lookup asked for by then) while fewer than ``max_batches`` are running; lookups arriving while
all are busy join the next batch. One batch at a time is the default: measured on one core, a
second concurrent batch only halves the batch size and doubles the thread hand-offs.

A local store (SQLite, ``KeyStore.is_local``) is queried on the event loop itself: measured here,
a batch of primary-key rows costs ~7 µs per key while the hop to a worker thread and back cost
more than the query, and was most of what a cold verification paid over a cached one (issue 17).
A batch of at most ``max_batch`` keys holds the loop ~2 ms at worst, and the loop gets a turn
between batches. A networked database's queries (PostgreSQL) stay in a worker thread: one slow
round trip must never freeze every socket.
"""

from __future__ import annotations

import asyncio

import anyio
import anyio.to_thread

from auth.errors import KeyStoreError
from auth.keys import ApiKey
from auth.store import KeyStore

__all__ = ["KeyLookup"]

_MAX_BATCH = 256


class KeyLookup:
    """``await get(key_id)`` → the stored record or ``None``; raises :class:`KeyStoreError`.

    Any other exception of the store reaches each waiter as a ``RuntimeError`` (a bug: the
    endpoint logs it and answers 500).
    """

    __slots__ = (
        "_batches",
        "_is_starting",
        "_limiter",
        "_max_batch",
        "_max_batches",
        "_pending",
        "_running",
        "_store",
    )

    def __init__(
        self, *, store: KeyStore, max_batch: int = _MAX_BATCH, max_batches: int = 1
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._max_batches = max_batches
        self._pending: dict[str, list[asyncio.Future[ApiKey | None]]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._is_starting = False
        self._batches = 0
        # Created on first use: anyio limiters belong to the running event loop.
        self._limiter: anyio.CapacityLimiter | None = None

    async def get(self, key_id: str) -> ApiKey | None:
        future: asyncio.Future[ApiKey | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key_id, []).append(future)
        if not self._is_starting and self._batches < self._max_batches:
            # Everything asked for before this task first runs joins its batch.
            self._is_starting = True
            self._batches += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self._running.add(task)  # a strong reference while it runs
            task.add_done_callback(self._running.discard)
        return await future

    async def _drain(self) -> None:
        # Counted down here, not in a done callback: a lookup arriving between this
        # coroutine's end and its callback would otherwise find every batch "busy" and wait
        # for a batch that never comes.
        try:
            self._is_starting = False
            await self._drain_pending()
        finally:
            self._is_starting = False
            self._batches -= 1

    async def _drain_pending(self) -> None:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._max_batches)
        while self._pending:
            key_ids = []
            for key_id in self._pending:
                key_ids.append(key_id)
                if len(key_ids) >= self._max_batch:
                    break
            batch = {key_id: self._pending.pop(key_id) for key_id in key_ids}
            try:
                if self._store.is_local:
                    found = self._store.get_many(key_ids)
                else:
                    found = await anyio.to_thread.run_sync(
                        self._store.get_many, key_ids, limiter=self._limiter
                    )
            except Exception as exc:  # each waiter gets it, as if it had queried alone
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(_copy(exc))
                continue
            except BaseException:
                for futures in batch.values():
                    for future in futures:
                        future.cancel()
                raise
            for key_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(key_id))
            if self._store.is_local and self._pending:
                await asyncio.sleep(0)  # let the loop serve others between local batches


def _copy(exc: Exception) -> Exception:
    """A fresh exception per waiter, so no two requests share (and chain onto) one traceback."""
    if isinstance(exc, KeyStoreError):
        return KeyStoreError(str(exc))
    return RuntimeError("key lookup failed unexpectedly")
