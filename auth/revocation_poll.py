"""Without Redis, a node learns of revocations and tier changes by polling the database.

Split from ``auth.revocation`` (the Redis listener), whose messages it mirrors: the same
callbacks, the same cache eviction, once per change.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol

import anyio.to_thread

from auth.cache import VerificationCache
from auth.clock import Clock
from auth.errors import KeyStoreError
from auth.revocation import OnRevoked, OnTierChanged, call_guarded

__all__ = ["RevocationPoller", "RevocationSource"]

logger = logging.getLogger("auth.revocation")


class RevocationSource(Protocol):
    """What the poller reads: :meth:`auth.sql.SqlKeyStore.revoked_since` and
    :meth:`~auth.sql.SqlKeyStore.tier_changed_since`."""

    def revoked_since(self, since: datetime) -> list[tuple[str, datetime]]: ...
    def tier_changed_since(self, since: datetime) -> list[tuple[str, str, datetime]]: ...


class RevocationPoller:
    """Without Redis: ask the database every ``interval_s`` which keys were revoked lately, or
    had their tier changed.

    The CLI is another process and cannot reach a node without Redis; this bounds how long a
    revoked (or downgraded) key's open sockets and cached verifications survive to about
    ``interval_s``. It reads a sliding window of ``window_s`` (so a change committed a little
    after its timestamp is not missed) and acts once per change. An async context manager,
    like the listener.
    """

    __slots__ = (
        "_cache",
        "_clock",
        "_handled",
        "_interval_s",
        "_on_revoked",
        "_on_tier_changed",
        "_source",
        "_task",
        "_window_s",
    )

    def __init__(
        self,
        *,
        source: RevocationSource,
        cache: VerificationCache,
        clock: Clock,
        interval_s: float,
        on_revoked: OnRevoked | None = None,
        on_tier_changed: OnTierChanged | None = None,
        window_s: float = 60.0,
    ) -> None:
        self._source = source
        self._cache = cache
        self._clock = clock
        self._interval_s = interval_s
        self._on_revoked = on_revoked
        self._on_tier_changed = on_tier_changed
        self._window_s = window_s
        #: (key id, new tier or None for a revocation, when) → None, oldest first.
        self._handled: dict[tuple[str, str | None, datetime], None] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RevocationPoller:
        # Changes older than the start need no action: no socket of this process predates them,
        # and the verifier reads the key's current state.
        start = self._wall_now()
        for change in await self._query():
            if change[2] <= start:
                self._handled[change] = None
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _query(self) -> list[tuple[str, str | None, datetime]]:
        since = self._wall_now() - timedelta(seconds=self._window_s)

        def changes() -> list[tuple[str, str | None, datetime]]:
            revoked = self._source.revoked_since(since)
            tiers = self._source.tier_changed_since(since)
            return [(key_id, None, at) for key_id, at in revoked] + list(tiers)

        try:
            return await anyio.to_thread.run_sync(changes)
        except KeyStoreError as exc:
            logger.warning("revocation poll failed: %s", exc)
            return []

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            horizon = self._wall_now() - timedelta(seconds=2 * self._window_s)
            for seen in [seen for seen in self._handled if seen[2] < horizon]:
                del self._handled[seen]
            for change in await self._query():
                if change not in self._handled:
                    self._handled[change] = None
                    self._act(change[0], change[1])

    def _act(self, key_id: str, tier: str | None) -> None:
        self._cache.evict_key(key_id)
        if tier is None:
            logger.info("key %s revoked (seen in the database)", key_id)
            on_revoked = self._on_revoked
            if on_revoked is not None:
                call_guarded(lambda: on_revoked(key_id))
            return
        logger.info("key %s now has tier %s (seen in the database)", key_id, tier)
        on_tier_changed = self._on_tier_changed
        if on_tier_changed is not None:
            call_guarded(lambda: on_tier_changed(key_id, tier))

    def _wall_now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), UTC)
