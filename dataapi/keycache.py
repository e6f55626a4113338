"""A short memory of verified keys in front of any :class:`~dataapi.access.KeyVerifier`.

Every data API request presents its key; the auth service's verifier, even on its own cache
hit, parses the key, runs an HMAC, consults two failure limiters and builds datetimes, which is
a large share of a cached read's budget. This cache answers a repeat of a key it verified less
than ``ttl_s`` ago from one keyed BLAKE2b digest and one dict lookup.

Why it is safe:

* **Revocation** still applies within ``ttl_s`` (one second by default) of the verifier behind
  it refusing the key: an entry is never renewed without asking the verifier again, and the
  auth service's own revocation path (Redis pub/sub evicting its cache) is unchanged.
  :meth:`evict_key` and :meth:`clear` let a revocation listener act at once where wired.
* **Expiry** is exact: an identity's ``valid_until_s`` is checked against the wall clock on
  every hit.
* **Refusals are never cached**: an invalid key always reaches the verifier and its failure
  limiters.
* The plain key is never a dict key: entries are keyed by a digest under a per-process random
  key, like the auth service's cache.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from dataapi.access import KeyIdentity, KeyVerifier

__all__ = ["DEFAULT_KEY_CACHE_TTL_S", "CachedKeyVerifier"]

DEFAULT_KEY_CACHE_TTL_S = 1.0
_MAX_ENTRIES = 10_000


class Clock(Protocol):
    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class CachedKeyVerifier:
    """``KeyVerifier`` in, ``KeyVerifier`` out, with verified identities kept ``ttl_s``."""

    __slots__ = ("_by_key_id", "_clock", "_digest_key", "_entries", "_inner", "_max", "ttl_s")

    def __init__(
        self,
        inner: KeyVerifier,
        *,
        clock: Clock,
        digest_key: bytes,
        ttl_s: float = DEFAULT_KEY_CACHE_TTL_S,
        max_entries: int = _MAX_ENTRIES,
    ) -> None:
        """
        Args:
            digest_key: random bytes (up to 64) from the injected RNG, per process.
            ttl_s: how long a verification is trusted; 0 disables the cache.
        """
        self._inner = inner
        self._clock = clock
        self._digest_key = digest_key
        self.ttl_s = ttl_s
        self._max = max_entries
        self._entries: dict[bytes, tuple[KeyIdentity, float]] = {}
        self._by_key_id: dict[str, set[bytes]] = {}

    def _digest(self, presented: str) -> bytes:
        return hashlib.blake2b(presented.encode(), key=self._digest_key, digest_size=16).digest()

    async def identify(self, presented: str, *, client_address: str) -> KeyIdentity:
        digest = self._digest(presented)
        entry = self._entries.get(digest)
        if entry is not None:
            identity, deadline = entry
            if self._clock.monotonic() < deadline and (
                identity.valid_until_s is None or self._clock.time() < identity.valid_until_s
            ):
                return identity
            self._drop(digest)
        identity = await self._inner.identify(presented, client_address=client_address)
        if self.ttl_s > 0:
            while len(self._entries) >= self._max:
                self._drop(next(iter(self._entries)))
            self._entries[digest] = (identity, self._clock.monotonic() + self.ttl_s)
            self._by_key_id.setdefault(identity.key_id, set()).add(digest)
        return identity

    def evict_key(self, key_id: str) -> int:
        """Forget every entry of ``key_id`` (revoked or rotated); returns how many went."""
        digests = self._by_key_id.pop(key_id, set())
        for digest in digests:
            self._entries.pop(digest, None)
        return len(digests)

    def clear(self) -> None:
        self._entries.clear()
        self._by_key_id.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, digest: bytes) -> None:
        entry = self._entries.pop(digest, None)
        if entry is None:
            return
        digests = self._by_key_id.get(entry[0].key_id)
        if digests is not None:
            digests.discard(digest)
            if not digests:
                del self._by_key_id[entry[0].key_id]
