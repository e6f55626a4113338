"""A short-lived memory of successful key verifications: an optimisation, not a crutch.

A verification is one indexed lookup and one HMAC (``auth.keys``), so a cold node is as fast as
a warm one; the cache only saves the database round trip for a page that opens ten channels.
Entries are keyed by HMAC-SHA256 of the *whole* presented key (id and secret together, so a
valid secret under another key id never hits; issue 10 item 11) under a per-process random key:
the plain key is never held as a dict key, and a memory dump does not give a directly checkable
hash of it either.

**Revocation bound.** An entry lives ``ttl_s`` (monotonic) seconds at most. A revocation made
anywhere therefore takes effect here within ``ttl_s``; where Redis is configured, the revocation
message evicts the key's entries at once (:meth:`evict_key`) and ``ttl_s`` only bounds a lost
message. Key expiry is re-checked against the wall clock on every hit, so an expiring key stops
exactly on time even while cached.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from auth.keys import ApiKey, PresentedKey

__all__ = ["DEFAULT_CACHE_TTL_S", "CacheEntry", "VerificationCache"]

DEFAULT_CACHE_TTL_S = 30.0
_DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class CacheEntry:
    record: ApiKey
    deadline: float


class VerificationCache:
    """digest(presented key) → verified record, until ``now + ttl_s``; no I/O, time passed in."""

    __slots__ = ("_by_key_id", "_digest_key", "_entries", "_max_entries", "ttl_s")

    def __init__(
        self, *, digest_key: bytes, ttl_s: float = DEFAULT_CACHE_TTL_S, max_entries: int = 0
    ) -> None:
        """
        Args:
            digest_key: random bytes (32) for the HMAC; from the injected RNG, per process.
            ttl_s: the revocation bound without Redis; 0 disables caching.
            max_entries: bound on memory; the oldest entry goes first. 0 means the default.
        """
        self._digest_key = digest_key
        self.ttl_s = ttl_s
        self._max_entries = max_entries or _DEFAULT_MAX_ENTRIES
        self._entries: dict[bytes, CacheEntry] = {}
        self._by_key_id: dict[str, set[bytes]] = {}

    def digest(self, presented: PresentedKey) -> bytes:
        """The cache key of a presented key: one HMAC over its id and secret together."""
        return hmac.new(self._digest_key, presented.message(), hashlib.sha256).digest()

    def get(self, digest: bytes, *, now: float) -> ApiKey | None:
        """The cached record, or ``None`` when absent or older than ``ttl_s``."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if now >= entry.deadline:
            self._remove(digest)
            return None
        return entry.record

    def put(self, digest: bytes, record: ApiKey, *, now: float) -> None:
        if self.ttl_s <= 0:
            return
        self._remove(digest)
        while len(self._entries) >= self._max_entries:
            self._remove(next(iter(self._entries)))
        self._entries[digest] = CacheEntry(record=record, deadline=now + self.ttl_s)
        self._by_key_id.setdefault(record.key_id, set()).add(digest)

    def evict_key(self, key_id: str) -> int:
        """Forget every entry of ``key_id`` (revoked or rotated); returns how many went."""
        digests = self._by_key_id.pop(key_id, set())
        for digest in digests:
            self._entries.pop(digest, None)
        return len(digests)

    def clear(self) -> None:
        """Forget everything, e.g. after revocation messages may have been missed."""
        self._entries.clear()
        self._by_key_id.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _remove(self, digest: bytes) -> None:
        entry = self._entries.pop(digest, None)
        if entry is None:
            return
        digests = self._by_key_id.get(entry.record.key_id)
        if digests is not None:
            digests.discard(digest)
            if not digests:
                del self._by_key_id[entry.record.key_id]
