from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from auth.keys import (
    KEY_PREFIX,
    ApiKey,
    HashCheck,
    check_key_hash,
    hash_key,
    issue_key,
    opaque_user_id,
    parse_key,
)
from auth.pepper import Peppers
from tests.auth.conftest import PEPPERS, TEST_PEPPER

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def test_issued_key_is_shown_once_and_only_its_peppered_hmac_is_kept() -> None:
    issued = issue_key(rng=random.Random(1), peppers=PEPPERS, name="Ada", tier="pro", now=NOW)
    plain = issued.plain.reveal()
    assert plain.startswith(KEY_PREFIX)
    key_hash = issued.record.key_hash
    assert key_hash is not None
    scheme, fingerprint, digest = key_hash.split("$")
    assert (scheme, fingerprint, len(digest)) == ("hmac-sha256", PEPPERS.current.fingerprint, 64)
    secret_part = plain.split(".", 1)[1]
    assert secret_part not in key_hash and TEST_PEPPER not in key_hash
    assert issued.record.secret_hash is None
    presented = parse_key(plain)
    assert presented is not None
    assert check_key_hash(PEPPERS, key_hash, presented) is HashCheck.MATCH
    assert secret_part not in repr(issued)
    assert key_hash not in repr(issued.record)


def test_the_hash_binds_the_key_id_and_the_pepper() -> None:
    issued = issue_key(rng=random.Random(1), peppers=PEPPERS, name="Ada", tier="pro", now=NOW)
    presented = parse_key(issued.plain.reveal())
    assert presented is not None
    other_id = parse_key(f"pk_{'0' * 16}.{presented.secret.reveal()}")
    assert other_id is not None
    assert check_key_hash(PEPPERS, issued.record.key_hash, other_id) is HashCheck.NO_MATCH
    other_pepper = Peppers.from_texts("another-pepper-" + "x" * 40)
    assert check_key_hash(other_pepper, issued.record.key_hash, presented) is HashCheck.NO_MATCH
    assert check_key_hash(PEPPERS, None, presented) is HashCheck.ABSENT
    assert check_key_hash(PEPPERS, "$argon2id$v=19$...", presented) is HashCheck.NO_MATCH


def test_a_previous_pepper_still_verifies_and_asks_for_a_rehash() -> None:
    old = Peppers.from_texts("old-pepper-" + "o" * 40)
    issued = issue_key(rng=random.Random(1), peppers=old, name="Ada", tier="pro", now=NOW)
    presented = parse_key(issued.plain.reveal())
    assert presented is not None
    rotated = Peppers(current=PEPPERS.current, previous=(old.current,))
    assert check_key_hash(rotated, issued.record.key_hash, presented) is HashCheck.MATCH_STALE
    assert hash_key(rotated.current, presented) != issued.record.key_hash


def test_the_presence_identity_is_opaque_not_the_key_id() -> None:
    issued = issue_key(rng=random.Random(1), peppers=PEPPERS, name="Ada", tier="pro", now=NOW)
    presented = parse_key(issued.plain.reveal())
    assert presented is not None
    assert presented.key_id == issued.record.key_id
    assert issued.record.user_id == opaque_user_id(PEPPERS.current, issued.record.key_id)
    assert issued.record.key_id not in issued.record.user_id


def test_a_rotated_key_can_keep_the_user_id() -> None:
    issued = issue_key(
        rng=random.Random(1), peppers=PEPPERS, name="Ada", tier="pro", now=NOW, user_id="u-7"
    )
    assert issued.record.user_id == "u-7"
    assert issued.record.key_id != "u-7"


def test_keys_differ_with_the_randomness() -> None:
    rng = random.Random(1)
    first = issue_key(rng=rng, peppers=PEPPERS, name="a", tier="free", now=NOW)
    second = issue_key(rng=rng, peppers=PEPPERS, name="a", tier="free", now=NOW)
    assert first.plain.reveal() != second.plain.reveal()
    assert first.record.key_id != second.record.key_id


def test_parse_key_refuses_every_other_shape() -> None:
    good = "pk_" + "a" * 16 + "." + "b" * 64
    assert parse_key(good) is not None
    assert parse_key(f"  {good} ") is not None
    for bad in [
        "",
        "pk_",
        good[:-1],
        good + "c",
        good.replace(".", "_"),
        "sk_" + good[3:],
        good.upper(),
        "pk_" + "g" * 16 + "." + "b" * 64,
    ]:
        assert parse_key(bad) is None, bad


def test_usable_until_revoked_or_expired() -> None:
    record = ApiKey(
        key_id="k",
        user_id="k",
        name="n",
        tier="pro",
        key_hash="h",
        created_at=NOW,
        expires_at=NOW + timedelta(days=1),
    )
    assert record.is_usable_at(NOW)
    assert not record.is_usable_at(NOW + timedelta(days=1))
    revoked = ApiKey(
        key_id="k",
        user_id="k",
        name="n",
        tier="pro",
        key_hash="h",
        created_at=NOW,
        revoked_at=NOW + timedelta(hours=1),
    )
    assert revoked.is_usable_at(NOW)
    assert not revoked.is_usable_at(NOW + timedelta(hours=1))
