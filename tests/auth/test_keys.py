from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from auth.keys import KEY_PREFIX, ApiKey, issue_key, parse_key

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def test_issued_key_is_shown_once_and_only_its_argon2id_hash_is_kept(
    hasher: PasswordHasher,
) -> None:
    issued = issue_key(rng=random.Random(1), hasher=hasher, name="Ada", tier="pro", now=NOW)
    plain = issued.plain.reveal()
    assert plain.startswith(KEY_PREFIX)
    assert issued.record.secret_hash.startswith("$argon2id$")
    secret_part = plain.split(".", 1)[1]
    assert secret_part not in issued.record.secret_hash
    assert hasher.verify(issued.record.secret_hash, secret_part)
    assert secret_part not in repr(issued)
    assert issued.record.secret_hash not in repr(issued.record)


def test_key_id_is_the_lookup_handle_and_the_default_user_id(hasher: PasswordHasher) -> None:
    issued = issue_key(rng=random.Random(1), hasher=hasher, name="Ada", tier="pro", now=NOW)
    presented = parse_key(issued.plain.reveal())
    assert presented is not None
    assert presented.key_id == issued.record.key_id == issued.record.user_id


def test_a_rotated_key_can_keep_the_user_id(hasher: PasswordHasher) -> None:
    issued = issue_key(
        rng=random.Random(1), hasher=hasher, name="Ada", tier="pro", now=NOW, user_id="u-7"
    )
    assert issued.record.user_id == "u-7"
    assert issued.record.key_id != "u-7"


def test_keys_differ_with_the_randomness(hasher: PasswordHasher) -> None:
    rng = random.Random(1)
    first = issue_key(rng=rng, hasher=hasher, name="a", tier="free", now=NOW)
    second = issue_key(rng=rng, hasher=hasher, name="a", tier="free", now=NOW)
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
        secret_hash="h",
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
        secret_hash="h",
        created_at=NOW,
        revoked_at=NOW + timedelta(hours=1),
    )
    assert revoked.is_usable_at(NOW)
    assert not revoked.is_usable_at(NOW + timedelta(hours=1))
