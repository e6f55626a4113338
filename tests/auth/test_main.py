"""``python -m auth`` end to end through ``run()``, with the environment as a plain mapping."""

from __future__ import annotations

import io
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis as sync_redis

from auth.__main__ import parse_args, run
from auth.keys import HashCheck, check_key_hash, parse_key
from auth.pepper import Peppers
from auth.revocation import revocation_channel
from auth.sql import SqlKeyStore, create_engine_for_url
from tests.auth.conftest import REDIS_URL, TEST_PEPPER


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def test_db_upgrade_and_downgrade(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    out = io.StringIO()
    assert run(["db", "upgrade"], env, out) == 0
    assert run(["db", "current"], env, out) == 0
    assert run(["db", "downgrade"], env, out) == 0
    assert out.getvalue().splitlines() == [
        "database at revision 0003",
        "database at revision 0003",
        "database at revision base",
    ]


def test_keys_create_migrates_first_and_list_never_shows_secrets(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "AUTH_PEPPER": TEST_PEPPER}
    created = io.StringIO()
    assert (
        run(
            ["keys", "create", "--name", "Ada", "--tier", "pro", "--expires-in-days", "30"],
            env,
            created,
        )
        == 0
    )
    presented = parse_key(created.getvalue().strip().splitlines()[-1])
    assert presented is not None
    listing = io.StringIO()
    assert run(["keys", "list"], env, listing) == 0
    assert presented.key_id in listing.getvalue()
    assert presented.secret.reveal() not in listing.getvalue()
    assert run(["keys", "revoke", presented.key_id], env, io.StringIO()) == 0
    rotated = io.StringIO()
    assert run(["keys", "rotate", presented.key_id], env, rotated) == 1  # revoked: refused
    engine = create_engine_for_url(database_url)
    try:
        record = SqlKeyStore(engine=engine).get(presented.key_id)
    finally:
        engine.dispose()
    assert record is not None and record.revoked_at is not None


def test_postgres_without_a_pepper_is_a_configuration_error(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATABASE_URL": postgres_url}
    assert run(["keys", "create", "--name", "A", "--tier", "free"], env, io.StringIO()) == 1
    assert "AUTH_PEPPER" in capsys.readouterr().err
    short = {"DATABASE_URL": postgres_url, "AUTH_PEPPER": "too-short-a-pepper"}
    assert run(["keys", "create", "--name", "A", "--tier", "free"], short, io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "AUTH_PEPPER" in err and "too-short-a-pepper" not in err


def test_the_sqlite_default_pepper_is_created_once_beside_the_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": sqlite_url}
    for _ in range(2):
        created = io.StringIO()
        assert run(["keys", "create", "--name", "A", "--tier", "free"], env, created) == 0
    pepper_file = tmp_path / "auth.sqlite3.pepper"
    assert stat.S_IMODE(pepper_file.stat().st_mode) == 0o600
    pepper = pepper_file.read_text().strip()
    assert len(pepper) == 64
    assert pepper not in created.getvalue()
    peppers = Peppers.from_texts(pepper)
    presented = parse_key(created.getvalue().strip().splitlines()[-1])
    assert presented is not None
    engine = create_engine_for_url(sqlite_url)
    try:
        record = SqlKeyStore(engine=engine).get(presented.key_id)
    finally:
        engine.dispose()
    assert record is not None
    assert check_key_hash(peppers, record.key_hash, presented) is HashCheck.MATCH


def test_revoke_announces_through_redis_when_configured(sqlite_url: str, redis_prefix: str) -> None:
    env = {"DATABASE_URL": sqlite_url, "REDIS_URL": REDIS_URL, "AUTH_REDIS_PREFIX": redis_prefix}
    created = io.StringIO()
    assert run(["keys", "create", "--name", "A", "--tier", "free"], env, created) == 0
    presented = parse_key(created.getvalue().strip().splitlines()[-1])
    assert presented is not None
    client = sync_redis.Redis.from_url(REDIS_URL)
    # redis-py leaves Redis.pubsub unannotated; the alias gives it its real type.
    make_pubsub: Callable[[], sync_redis.client.PubSub] = client.pubsub
    pubsub = make_pubsub()
    try:
        pubsub.subscribe(revocation_channel(redis_prefix))
        assert pubsub.get_message(timeout=5.0) is not None  # the subscribe confirmation
        assert run(["keys", "rotate", presented.key_id, "--grace-s", "60"], env, io.StringIO()) == 0
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
        assert message is not None and message["data"] == presented.key_id.encode()
    finally:
        pubsub.close()
        client.close()


def test_errors_exit_1_with_a_message(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DATABASE_URL": sqlite_url}
    assert run(["keys", "create", "--name", "A", "--tier", "gold"], env, io.StringIO()) == 1
    assert run(["keys", "revoke", "0" * 16], env, io.StringIO()) == 1
    assert run(["serve"], env, io.StringIO()) == 1  # no app credentials
    assert run(["keys", "list"], {**env, "AUTH_CACHE_TTL_S": "soon"}, io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "unknown tier 'gold'" in err
    assert "no key with id" in err
    assert "PUSHERD_APP_KEY" in err
    assert "AUTH_CACHE_TTL_S" in err


def test_parse_args_defaults() -> None:
    args = parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8001)
    assert parse_args(["keys", "rotate", "abc"]).grace_s == 0.0


def test_module_entry_point_runs(tmp_path: Path) -> None:
    """``python -m auth --help`` works from any directory."""
    result = subprocess.run(
        [sys.executable, "-m", "auth", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "keys" in result.stdout
