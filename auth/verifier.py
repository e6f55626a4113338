"""From a presented API key to its stored record: one indexed lookup and one HMAC.

Order of work, cheapest first: the key's shape (a regex) and the verification cache (one HMAC
over id and secret; a hit is a success and spends nothing); then a failure token is reserved
for the address (``auth.admission``: refused when the budget is spent, waiting while it is held
by attempts in flight), and only then the lookup by key id in a worker thread, so the event loop
keeps serving, and a constant-time compare of HMAC-SHA256 under the pepper (``auth.keys``). A
success returns the token, a failure spends it. Concurrent first requests with the same key
share one lookup (single flight).

Keys stored before the HMAC form (argon2id, legacy) are verified with argon2 at most
``max_legacy_hashes`` at a time in all and one at a time per key id, then re-hashed, so each
legacy key costs one argon2 in its life. The per-key failure count turns a wrong secret's 401
into 429 once a key id has seen too many, but a correct secret always passes: knowing a key id
(it is public) never lets a stranger lock its holder out. Every refusal is an
:class:`~auth.errors.AuthError`; "revoked" and "expired" are only said after the secret matched,
so they reveal nothing to a guesser.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auth.admission import AdmissionGate
from auth.cache import VerificationCache
from auth.clock import Clock
from auth.errors import KeyStoreError, RateLimited, Unauthenticated, Unavailable
from auth.keys import (
    ApiKey,
    HashCheck,
    PresentedKey,
    check_key_hash,
    hash_key,
    opaque_user_id,
    parse_key,
)
from auth.lookup import KeyLookup
from auth.pepper import Peppers
from auth.ratelimit import FailureLimiter
from auth.store import DB_CONCURRENCY, KeyStore

__all__ = ["DEFAULT_LEGACY_HASHES", "KeyVerifier"]

logger = logging.getLogger("auth.verifier")

_T = TypeVar("_T")

#: argon2id at the library defaults takes 64 MiB and ~200 ms of CPU per verify.
DEFAULT_LEGACY_HASHES = 2


class KeyVerifier:
    """Authenticates API keys against a :class:`~auth.store.KeyStore`.

    The one public entry point is :meth:`verify`; the auth endpoints and the data API use it.
    """

    __slots__ = (
        "_address_gate",
        "_cache",
        "_clock",
        "_db_limiter",
        "_hasher",
        "_inflight",
        "_key_limiter",
        "_legacy_locks",
        "_legacy_slots",
        "_lookup",
        "_max_legacy_hashes",
        "_peppers",
        "_store",
    )

    def __init__(
        self,
        *,
        store: KeyStore,
        peppers: Peppers,
        hasher: PasswordHasher,
        cache: VerificationCache,
        clock: Clock,
        address_limiter: FailureLimiter,
        key_limiter: FailureLimiter,
        max_legacy_hashes: int = DEFAULT_LEGACY_HASHES,
    ) -> None:
        """
        Args:
            peppers: the current pepper hashes and verifies; previous ones only verify.
            hasher: argon2id, for legacy keys only.
            max_legacy_hashes: argon2 verifications running at once, in all.
        """
        self._store = store
        self._lookup = KeyLookup(store=store)
        self._peppers = peppers
        self._hasher = hasher
        self._cache = cache
        self._clock = clock
        self._address_gate = AdmissionGate(limiter=address_limiter, clock=clock)
        self._key_limiter = key_limiter
        self._max_legacy_hashes = max_legacy_hashes
        self._inflight: dict[bytes, asyncio.Future[ApiKey]] = {}
        self._legacy_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # Created on first use: anyio limiters belong to the running event loop.
        self._legacy_slots: anyio.CapacityLimiter | None = None
        self._db_limiter: anyio.CapacityLimiter | None = None

    @property
    def cache(self) -> VerificationCache:
        return self._cache

    async def verify(self, value: str | None, *, client_address: str) -> ApiKey:
        """The usable record for the key ``value`` sent by ``client_address``.

        Args:
            value: the key as presented (``pk_<key_id>.<secret>``), or ``None`` when absent.
            client_address: whose failure budget an attempt spends.

        Returns:
            The stored record: ``key_id``, opaque ``user_id`` (the presence identity), ``name``,
            ``tier``, expiry.

        Raises:
            RateLimited: too many recent failures from this address, or a wrong secret for a key
                id that has seen too many.
            Unauthenticated: missing, malformed, unknown, wrong, revoked or expired key.
            Unavailable: the key store failed (the attempt's token is returned).
        """
        if not value:
            raise Unauthenticated("missing_key", "no API key was sent")
        presented = parse_key(value)
        digest = None if presented is None else self._cache.digest(presented)
        if digest is not None:
            # A cached success is proof of the key (id and secret) at no cost: no budget spent.
            cached = self._cache.get(digest, now=self._clock.monotonic())
            if cached is not None:
                return self._usable(cached)
        if not await self._address_gate.enter(client_address):
            raise RateLimited(
                "too_many_failures",
                "too many failed attempts from this address",
                retry_after_s=self._address_gate.limiter.retry_after(
                    client_address, now=self._clock.monotonic()
                ),
            )
        is_failure = True
        try:
            if presented is None or digest is None:
                raise Unauthenticated("invalid_key", "the API key is not valid")
            record = self._usable(await self._verify_cold(digest, presented))
            is_failure = False
            return record
        except Unavailable:
            is_failure = False  # our failure, not the client's
            raise
        finally:
            self._address_gate.leave(client_address, is_failure=is_failure)

    async def _verify_cold(self, digest: bytes, presented: PresentedKey) -> ApiKey:
        try:
            return await self._verify_once(digest, presented)
        except Unauthenticated as exc:
            if exc.reason == "invalid_key":
                self._refuse_wrong_secret(presented.key_id)
            raise

    def _usable(self, record: ApiKey) -> ApiKey:
        if not record.is_usable_at(self._wall_now()):
            self._cache.evict_key(record.key_id)
            raise Unauthenticated("expired_key", "the API key has expired")
        return record

    def _refuse_wrong_secret(self, key_id: str) -> None:
        now = self._clock.monotonic()
        self._key_limiter.record_failure(key_id, now=now)
        wait_s = self._key_limiter.retry_after(key_id, now=now)
        if wait_s > 0:
            raise RateLimited(
                "too_many_failures", "too many failed attempts for this key", retry_after_s=wait_s
            )

    async def _verify_once(self, digest: bytes, presented: PresentedKey) -> ApiKey:
        """Single flight without a task of its own: the first caller does the work, callers
        with the same key meanwhile wait for its outcome (a cancelled leader hands over)."""
        while True:
            shared = self._inflight.get(digest)
            if shared is None:
                break
            try:
                return await asyncio.shield(shared)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # we were cancelled ourselves
                # The leader was cancelled (its client went away): try again, maybe as leader.
        shared = asyncio.get_running_loop().create_future()
        self._inflight[digest] = shared
        try:
            record = await self._verify_uncached(digest, presented)
        except asyncio.CancelledError:
            shared.cancel()
            raise
        except BaseException as exc:
            shared.set_exception(exc)
            shared.exception()  # retrieved: no "never retrieved" log when nobody waited
            raise
        finally:
            del self._inflight[digest]
        shared.set_result(record)
        return record

    async def _verify_uncached(self, digest: bytes, presented: PresentedKey) -> ApiKey:
        try:
            record = await self._lookup.get(presented.key_id)
        except KeyStoreError as exc:
            logger.warning("key store unavailable: %s", exc)
            raise Unavailable("key_store_unavailable", "API keys cannot be checked now") from exc
        if record is None:
            raise Unauthenticated("invalid_key", "the API key is not valid")
        check = check_key_hash(self._peppers, record.key_hash, presented)
        if check is HashCheck.ABSENT:
            check = await self._check_legacy(record, presented)
        if check is HashCheck.NO_MATCH:
            raise Unauthenticated("invalid_key", "the API key is not valid")
        now = self._wall_now()
        if record.revoked_at is not None and record.revoked_at <= now:
            raise Unauthenticated("revoked_key", "the API key has been revoked")
        if not record.is_usable_at(now):
            raise Unauthenticated("expired_key", "the API key has expired")
        if check is HashCheck.MATCH_STALE:
            record = await self._rehash(record, presented)
        self._cache.put(digest, record, now=self._clock.monotonic())
        return record

    async def _in_db_thread(self, work: Callable[[], _T]) -> _T:
        if self._db_limiter is None:
            self._db_limiter = anyio.CapacityLimiter(DB_CONCURRENCY)
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._db_limiter)
        except KeyStoreError as exc:
            logger.warning("key store unavailable: %s", exc)
            raise Unavailable("key_store_unavailable", "API keys cannot be checked now") from exc

    async def _check_legacy(self, record: ApiKey, presented: PresentedKey) -> HashCheck:
        """argon2id, one at a time per key id and ``max_legacy_hashes`` at a time in all."""
        if self._legacy_slots is None:
            self._legacy_slots = anyio.CapacityLimiter(self._max_legacy_hashes)
        lock, users = self._legacy_locks.get(record.key_id, (asyncio.Lock(), 0))
        self._legacy_locks[record.key_id] = (lock, users + 1)
        try:
            async with lock:
                is_match = await anyio.to_thread.run_sync(
                    self._argon2_matches, record, presented, limiter=self._legacy_slots
                )
        finally:
            lock, users = self._legacy_locks[record.key_id]
            if users <= 1:
                del self._legacy_locks[record.key_id]
            else:
                self._legacy_locks[record.key_id] = (lock, users - 1)
        return HashCheck.MATCH_STALE if is_match else HashCheck.NO_MATCH

    def _argon2_matches(self, record: ApiKey, presented: PresentedKey) -> bool:
        if record.secret_hash is None:
            return False
        try:
            return self._hasher.verify(record.secret_hash, presented.secret.reveal())
        except VerificationError:
            return False
        except InvalidHashError:
            logger.error("a stored key hash is neither HMAC nor argon2 (key id %s)", record.key_id)
            return False

    async def _rehash(self, record: ApiKey, presented: PresentedKey) -> ApiKey:
        """Store the current HMAC form of a legacy or stale hash; the key works either way."""
        pepper = self._peppers.current
        key_hash = hash_key(pepper, presented)
        user_id = (
            opaque_user_id(pepper, record.key_id)
            if record.user_id == record.key_id
            else record.user_id
        )
        try:
            await self._in_db_thread(lambda: self._store.rehash(record.key_id, key_hash, user_id))
        except Unavailable:
            pass  # logged; the next verification tries again
        return dataclasses.replace(record, key_hash=key_hash, secret_hash=None, user_id=user_id)

    def _wall_now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), UTC)
