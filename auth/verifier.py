"""From a presented API key to its stored record, spending argon2 only when it must.

Order of work, cheapest first: the failure limiter (no I/O), the key's shape (a regex), the
verification cache (one HMAC), and only then the database lookup by key id and one argon2id
verify, both in a worker thread so the event loop keeps serving. Concurrent first requests with
the same key share one verification (single flight), so a page opening ten channels at once
still costs one hash. Every refusal is a :class:`~auth.errors.Unauthenticated` whose reason says
which (missing, invalid, revoked, expired); "revoked" and "expired" are only said after the
secret matched, so they reveal nothing to a guesser.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auth.cache import VerificationCache
from auth.clock import Clock
from auth.errors import KeyStoreError, RateLimited, Unauthenticated, Unavailable
from auth.keys import ApiKey, PresentedKey, parse_key
from auth.ratelimit import FailureLimiter
from auth.store import KeyStore

__all__ = ["KeyVerifier"]

logger = logging.getLogger("auth.verifier")


class KeyVerifier:
    """Authenticates API keys against a :class:`~auth.store.KeyStore`."""

    __slots__ = (
        "_address_limiter",
        "_cache",
        "_clock",
        "_hasher",
        "_inflight",
        "_key_limiter",
        "_store",
    )

    def __init__(
        self,
        *,
        store: KeyStore,
        hasher: PasswordHasher,
        cache: VerificationCache,
        clock: Clock,
        address_limiter: FailureLimiter,
        key_limiter: FailureLimiter,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._cache = cache
        self._clock = clock
        self._address_limiter = address_limiter
        self._key_limiter = key_limiter
        self._inflight: dict[bytes, asyncio.Task[ApiKey]] = {}

    @property
    def cache(self) -> VerificationCache:
        return self._cache

    async def verify(self, value: str | None, *, client_address: str) -> ApiKey:
        """The usable record for the key ``value`` sent by ``client_address``.

        Raises:
            RateLimited: too many recent failures from this address or for this key id.
            Unauthenticated: missing, malformed, unknown, wrong, revoked or expired key.
            Unavailable: the key store failed.
        """
        now = self._clock.monotonic()
        wait_s = self._address_limiter.retry_after(client_address, now=now)
        if wait_s > 0:
            raise RateLimited(
                "too_many_failures",
                "too many failed attempts from this address",
                retry_after_s=wait_s,
            )
        if not value:
            raise Unauthenticated("missing_key", "no API key was sent")
        presented = parse_key(value)
        if presented is None:
            self._address_limiter.record_failure(client_address, now=now)
            raise Unauthenticated("invalid_key", "the API key is not valid")
        wait_s = self._key_limiter.retry_after(presented.key_id, now=now)
        if wait_s > 0:
            raise RateLimited(
                "too_many_failures",
                "too many failed attempts for this key",
                retry_after_s=wait_s,
            )
        digest = self._cache.digest(presented.secret)
        record = self._cache.get(digest, now=now)
        if record is None:
            try:
                record = await self._verify_once(digest, presented)
            except Unauthenticated:
                self._address_limiter.record_failure(client_address, now=now)
                self._key_limiter.record_failure(presented.key_id, now=now)
                raise
        if not record.is_usable_at(self._wall_now()):
            self._cache.evict_key(record.key_id)
            raise Unauthenticated("expired_key", "the API key has expired")
        return record

    async def _verify_once(self, digest: bytes, presented: PresentedKey) -> ApiKey:
        task = self._inflight.get(digest)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._verify_uncached(digest, presented))
            self._inflight[digest] = task
            task.add_done_callback(lambda _: self._inflight.pop(digest, None))
        return await asyncio.shield(task)

    async def _verify_uncached(self, digest: bytes, presented: PresentedKey) -> ApiKey:
        try:
            record = await anyio.to_thread.run_sync(self._store.get, presented.key_id)
        except KeyStoreError as exc:
            logger.warning("key store unavailable: %s", exc)
            raise Unavailable("key_store_unavailable", "API keys cannot be checked now") from exc
        if record is None:
            raise Unauthenticated("invalid_key", "the API key is not valid")
        is_match = await anyio.to_thread.run_sync(self._matches, record, presented)
        if not is_match:
            raise Unauthenticated("invalid_key", "the API key is not valid")
        now = self._wall_now()
        if record.revoked_at is not None and record.revoked_at <= now:
            raise Unauthenticated("revoked_key", "the API key has been revoked")
        if not record.is_usable_at(now):
            raise Unauthenticated("expired_key", "the API key has expired")
        self._cache.put(digest, record, now=self._clock.monotonic())
        return record

    def _matches(self, record: ApiKey, presented: PresentedKey) -> bool:
        try:
            return self._hasher.verify(record.secret_hash, presented.secret.reveal())
        except VerificationError:
            return False
        except InvalidHashError:
            logger.error("stored hash of key %s is not an argon2 hash", record.key_id)
            return False

    def _wall_now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), UTC)
