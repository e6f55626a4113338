from __future__ import annotations

from datetime import UTC, datetime

from auth.cache import VerificationCache
from auth.keys import ApiKey, PresentedKey
from pusherd.protocol.secret import Secret

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _record(key_id: str) -> ApiKey:
    return ApiKey(key_id=key_id, user_id=key_id, name="n", tier="pro", key_hash="h", created_at=NOW)


def test_digest_is_keyed_and_never_the_plain_key() -> None:
    plain = PresentedKey(key_id="0123456789abcdef", secret=Secret("f" * 64))
    one = VerificationCache(digest_key=b"1" * 32)
    two = VerificationCache(digest_key=b"2" * 32)
    assert one.digest(plain) == one.digest(plain)
    assert one.digest(plain) != two.digest(plain)
    assert plain.message() not in one.digest(plain)


def test_digest_binds_the_key_id_and_the_secret() -> None:
    """Issue 10 item 11: the same secret under another key id is another cache entry."""
    cache = VerificationCache(digest_key=b"1" * 32)
    real = PresentedKey(key_id="0123456789abcdef", secret=Secret("f" * 64))
    forged = PresentedKey(key_id="0" * 16, secret=Secret("f" * 64))
    assert cache.digest(real) != cache.digest(forged)


def test_an_entry_lives_exactly_ttl_seconds() -> None:
    cache = VerificationCache(digest_key=b"k" * 32, ttl_s=30)
    cache.put(b"d", _record("a"), now=100.0)
    assert cache.get(b"d", now=129.9) == _record("a")
    assert cache.get(b"d", now=130.0) is None
    assert len(cache) == 0


def test_evict_key_drops_every_digest_of_that_key_only() -> None:
    cache = VerificationCache(digest_key=b"k" * 32)
    cache.put(b"a1", _record("a"), now=0)
    cache.put(b"a2", _record("a"), now=0)
    cache.put(b"b1", _record("b"), now=0)
    assert cache.evict_key("a") == 2
    assert cache.get(b"a1", now=1) is None
    assert cache.get(b"b1", now=1) == _record("b")
    assert cache.evict_key("a") == 0


def test_clear_forgets_everything() -> None:
    cache = VerificationCache(digest_key=b"k" * 32)
    cache.put(b"a1", _record("a"), now=0)
    cache.clear()
    assert len(cache) == 0
    assert cache.evict_key("a") == 0


def test_size_is_bounded_oldest_first() -> None:
    cache = VerificationCache(digest_key=b"k" * 32, max_entries=2)
    for index in range(3):
        cache.put(bytes([index]), _record(f"k{index}"), now=0)
    assert len(cache) == 2
    assert cache.get(bytes([0]), now=0) is None
    assert cache.get(bytes([2]), now=0) is not None


def test_ttl_zero_disables_caching() -> None:
    cache = VerificationCache(digest_key=b"k" * 32, ttl_s=0)
    cache.put(b"d", _record("a"), now=0)
    assert cache.get(b"d", now=0) is None


def test_replacing_an_entry_keeps_the_index_consistent() -> None:
    cache = VerificationCache(digest_key=b"k" * 32)
    cache.put(b"d", _record("a"), now=0)
    cache.put(b"d", _record("a"), now=5)
    assert len(cache) == 1
    assert cache.evict_key("a") == 1
