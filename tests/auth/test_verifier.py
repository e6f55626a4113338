from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auth.cache import VerificationCache
from auth.errors import KeyStoreError, RateLimited, Unauthenticated, Unavailable
from auth.keys import ApiKey, IssuedKey, issue_key
from auth.pepper import Pepper, Peppers
from auth.ratelimit import FailureLimiter, FailureLimits
from auth.store import MemoryKeyStore
from auth.verifier import KeyVerifier
from tests.auth.conftest import PEPPERS, CountingHasher, FakeClock

TTL_S = 30.0
ADDRESS = "10.0.0.1"


def _verifier(
    store: MemoryKeyStore,
    hasher: CountingHasher,
    clock: FakeClock,
    *,
    key_failures: int = 5,
    peppers: Peppers = PEPPERS,
) -> KeyVerifier:
    return KeyVerifier(
        store=store,
        peppers=peppers,
        hasher=hasher,
        cache=VerificationCache(digest_key=b"d" * 32, ttl_s=TTL_S),
        clock=clock,
        address_limiter=FailureLimiter(FailureLimits(max_failures=20, window_s=60)),
        key_limiter=FailureLimiter(FailureLimits(max_failures=key_failures, window_s=60)),
    )


def _issue(store: MemoryKeyStore, hasher: CountingHasher, clock: FakeClock, **kw: Any) -> IssuedKey:
    del hasher  # new keys are HMAC-hashed under the pepper
    issued = issue_key(
        rng=random.Random(7),
        peppers=PEPPERS,
        name="Ada",
        tier="pro",
        now=datetime.fromtimestamp(clock.time(), UTC),
        **kw,
    )
    store.put(issued.record)
    return issued


def _issue_legacy(store: MemoryKeyStore, hasher: CountingHasher, clock: FakeClock) -> IssuedKey:
    """A key as the argon2 versions stored it: ``secret_hash`` only, user id = key id."""
    issued = _issue(store, hasher, clock)
    secret = issued.plain.reveal().split(".", 1)[1]
    record = dataclasses.replace(
        issued.record,
        key_hash=None,
        secret_hash=hasher.hash(secret),
        user_id=issued.record.key_id,
    )
    store.put(record)
    return IssuedKey(record=record, plain=issued.plain)


async def _reason(verifier: KeyVerifier, value: str | None, address: str = ADDRESS) -> str:
    with pytest.raises(Unauthenticated) as info:
        await verifier.verify(value, client_address=address)
    return info.value.reason


async def test_a_legacy_argon2_key_costs_one_argon2_in_its_life_then_is_rehashed(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    issued = _issue_legacy(store, hasher, clock)
    verifier = _verifier(store, hasher, clock)
    for _ in range(50):
        record = await verifier.verify(issued.plain.reveal(), client_address=ADDRESS)
        assert record.key_id == issued.record.key_id
        clock.advance(0.5)  # 25 s in all: still inside one TTL
    assert hasher.verify_count == 1
    stored = store.get(issued.record.key_id)
    assert stored is not None and stored.secret_hash is None
    assert stored.key_hash is not None and stored.key_hash.startswith("hmac-sha256$")
    assert stored.user_id != stored.key_id  # the public key id stops being the presence id
    clock.advance(TTL_S)
    cold = _verifier(store, hasher, clock)  # another node, cold cache
    assert (await cold.verify(issued.plain.reveal(), client_address=ADDRESS)).key_id == (
        issued.record.key_id
    )
    assert hasher.verify_count == 1


async def test_a_previous_pepper_verifies_and_the_key_moves_to_the_current_one(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    next_pepper = Pepper.from_text("next-pepper-" + "n" * 40)
    rotated = Peppers(current=next_pepper, previous=(PEPPERS.current,))
    verifier = _verifier(store, hasher, clock, peppers=rotated)
    await verifier.verify(issued.plain.reveal(), client_address=ADDRESS)
    stored = store.get(issued.record.key_id)
    assert stored is not None and stored.key_hash is not None
    assert stored.key_hash.split("$")[1] == rotated.current.fingerprint
    assert stored.user_id == issued.record.user_id  # an opaque id is kept as it is
    only_new = Peppers(current=rotated.current)
    assert (
        await _verifier(store, hasher, clock, peppers=only_new).verify(
            issued.plain.reveal(), client_address=ADDRESS
        )
    ).key_id == issued.record.key_id


async def test_concurrent_first_calls_share_one_verification(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    issued = _issue_legacy(store, hasher, clock)
    verifier = _verifier(store, hasher, clock)
    results: Sequence[ApiKey] = await asyncio.gather(
        *(verifier.verify(issued.plain.reveal(), client_address=ADDRESS) for _ in range(20))
    )
    assert {record.key_id for record in results} == {issued.record.key_id}
    assert hasher.verify_count == 1


async def test_revocation_takes_effect_within_the_cache_ttl(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    verifier = _verifier(store, hasher, clock)
    await verifier.verify(issued.plain.reveal(), client_address=ADDRESS)
    revoked_at = datetime.fromtimestamp(clock.time(), UTC)
    store.put(dataclasses.replace(issued.record, revoked_at=revoked_at))
    clock.advance(TTL_S - 0.001)  # the documented bound: may still pass from the cache
    await verifier.verify(issued.plain.reveal(), client_address=ADDRESS)
    clock.advance(0.001)
    assert await _reason(verifier, issued.plain.reveal()) == "revoked_key"


async def test_evicting_the_key_makes_revocation_immediate(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    verifier = _verifier(store, hasher, clock)
    await verifier.verify(issued.plain.reveal(), client_address=ADDRESS)
    store.put(
        dataclasses.replace(issued.record, revoked_at=datetime.fromtimestamp(clock.time(), UTC))
    )
    verifier.cache.evict_key(issued.record.key_id)
    assert await _reason(verifier, issued.plain.reveal()) == "revoked_key"


async def test_expiry_is_exact_even_while_cached(hasher: CountingHasher, clock: FakeClock) -> None:
    store = MemoryKeyStore()
    now = datetime.fromtimestamp(clock.time(), UTC)
    issued = _issue(store, hasher, clock, expires_at=now + timedelta(seconds=10))
    verifier = _verifier(store, hasher, clock)
    await verifier.verify(issued.plain.reveal(), client_address=ADDRESS)
    clock.advance(10)
    assert await _reason(verifier, issued.plain.reveal()) == "expired_key"
    assert len(verifier.cache) == 0


async def test_an_expired_key_is_refused_on_first_sight(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    now = datetime.fromtimestamp(clock.time(), UTC)
    issued = _issue(store, hasher, clock, expires_at=now - timedelta(seconds=1))
    verifier = _verifier(store, hasher, clock)
    assert await _reason(verifier, issued.plain.reveal()) == "expired_key"


async def test_missing_malformed_unknown_and_wrong_keys_are_refused(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    verifier = _verifier(store, hasher, clock)
    assert await _reason(verifier, None) == "missing_key"
    assert await _reason(verifier, "") == "missing_key"
    assert await _reason(verifier, "not-a-key") == "invalid_key"
    unknown = "pk_" + "0" * 16 + "." + "1" * 64
    assert await _reason(verifier, unknown) == "invalid_key"
    wrong = issued.plain.reveal()[:-1] + ("0" if issued.plain.reveal()[-1] != "0" else "1")
    assert await _reason(verifier, wrong) == "invalid_key"
    assert hasher.verify_count == 0  # HMAC keys never touch argon2


async def test_wrong_secrets_for_one_key_id_turn_into_429_but_the_right_one_passes(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    verifier = _verifier(store, hasher, clock, key_failures=3)
    wrong = f"pk_{issued.record.key_id}." + "0" * 64
    for index in range(2):
        assert await _reason(verifier, wrong, address=f"10.0.1.{index}") == "invalid_key"
    with pytest.raises(RateLimited) as info:
        await verifier.verify(wrong, client_address="10.0.1.9")
    assert info.value.retry_after_s > 0
    record = await verifier.verify(issued.plain.reveal(), client_address="10.0.2.1")
    assert record.key_id == issued.record.key_id


async def test_failures_from_one_address_are_rate_limited(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    verifier = _verifier(MemoryKeyStore(), hasher, clock)
    for _ in range(20):
        await _reason(verifier, "garbage")
    with pytest.raises(RateLimited):
        await verifier.verify("garbage", client_address=ADDRESS)
    assert await _reason(verifier, "garbage", address="10.9.9.9") == "invalid_key"


class _BrokenStore(MemoryKeyStore):
    def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        raise KeyStoreError("database is down")


async def test_a_store_failure_is_unavailable_not_unauthenticated(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    verifier = _verifier(_BrokenStore(), hasher, clock)
    with pytest.raises(Unavailable):
        await verifier.verify("pk_" + "0" * 16 + "." + "1" * 64, client_address=ADDRESS)


async def test_a_corrupt_stored_hash_is_a_refusal(hasher: CountingHasher, clock: FakeClock) -> None:
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    store.put(dataclasses.replace(issued.record, key_hash="hmac-sha256$00000000$00"))
    verifier = _verifier(store, hasher, clock)
    assert await _reason(verifier, issued.plain.reveal()) == "invalid_key"
    store.put(dataclasses.replace(issued.record, key_hash=None, secret_hash="not-argon2"))
    verifier = _verifier(store, hasher, clock)
    assert await _reason(verifier, issued.plain.reveal()) == "invalid_key"


async def test_a_warm_cache_binds_the_key_id_to_the_secret(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    """Issue 10 item 11: ``pk_0000000000000000.<valid secret>`` is refused warm as well as cold."""
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    verifier = _verifier(store, hasher, clock)
    secret = issued.plain.reveal().split(".", 1)[1]
    forged = f"pk_{'0' * 16}.{secret}"
    assert await _reason(verifier, forged) == "invalid_key"  # cold
    await verifier.verify(issued.plain.reveal(), client_address=ADDRESS)  # warm the cache
    assert await _reason(verifier, forged, address="10.0.0.2") == "invalid_key"


async def test_concurrent_wrong_secrets_from_one_address_are_reserved_before_hashing(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    """Issue 10 item 4: 100 at once from one address cost at most its budget (20) of hashes."""
    store = MemoryKeyStore()
    issued = _issue_legacy(store, hasher, clock)
    verifier = _verifier(store, hasher, clock, key_failures=1000)
    key_id = issued.record.key_id
    wrong = [f"pk_{key_id}.{index:064x}" for index in range(100)]
    outcomes = await asyncio.gather(
        *(verifier.verify(value, client_address=ADDRESS) for value in wrong),
        return_exceptions=True,
    )
    limited = [o for o in outcomes if isinstance(o, RateLimited)]
    refused = [o for o in outcomes if isinstance(o, Unauthenticated)]
    assert (len(refused), len(limited)) == (20, 80)
    assert hasher.verify_count <= 20


async def test_a_stranger_who_knows_a_key_id_cannot_lock_out_its_holder(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    """Issue 10 item 4: failures from other addresses never refuse the correct secret."""
    store = MemoryKeyStore()
    issued = _issue(store, hasher, clock)
    verifier = _verifier(store, hasher, clock, key_failures=3)
    wrong = f"pk_{issued.record.key_id}." + "0" * 64
    for index in range(50):
        try:
            await verifier.verify(wrong, client_address=f"10.0.1.{index}")
        except (Unauthenticated, RateLimited):
            pass
    record = await verifier.verify(issued.plain.reveal(), client_address="10.0.2.1")
    assert record.key_id == issued.record.key_id


async def test_a_burst_of_valid_keys_from_one_address_is_never_refused(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    """Reserving before checking must not turn a busy address (a proxy, an office) away."""
    store = MemoryKeyStore()
    rng = random.Random(11)
    now = datetime.fromtimestamp(clock.time(), UTC)
    plain = []
    for index in range(200):
        issued = issue_key(rng=rng, peppers=PEPPERS, name=f"u{index}", tier="pro", now=now)
        store.put(issued.record)
        plain.append(issued.plain.reveal())
    verifier = _verifier(store, hasher, clock)
    records = await asyncio.gather(*(verifier.verify(p, client_address=ADDRESS) for p in plain))
    assert len({record.key_id for record in records}) == 200
