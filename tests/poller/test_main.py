from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis

from poller.__main__ import main


def test_simulate_print_shows_live_matches_without_key_redis_or_internet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--simulate", "--print", "--duration", "0.6", "--speed", "60"], environ={})
    out = capsys.readouterr().out
    assert code == 0
    assert "sports.football" in out and "match.update" in out and "sports.basketball" in out


def test_real_mode_without_a_key_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], environ={}) == 2
    assert "RAPIDAPI_KEY" in capsys.readouterr().err


def test_bad_settings_are_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--simulate", "--print"], environ={"POLLER_SPORTS": "curling"}) == 2
    assert "curling" in capsys.readouterr().err


@pytest.mark.redis
def test_publishing_to_redis_also_records_into_the_match_store(tmp_path: Path) -> None:
    """The standalone poller writes the SQL record pusherd's data API reads history from."""
    from dataapi.reader import SqlMatchReader
    from dataapi.store import open_match_engine

    url = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    prefix = f"test:{uuid.uuid4().hex}:"
    environ = {"DATABASE_URL": url, "POLLER_SPORTS": "football", "PUSHERD_REDIS_PREFIX": prefix}
    try:
        assert main(["--simulate", "--duration", "1.0", "--speed", "60"], environ=environ) == 0
    finally:
        client = redis.Redis(host="127.0.0.1", port=6379)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
    with open_match_engine(url) as engine:
        leagues, _ = SqlMatchReader(engine=engine).leagues("football", after=None, limit=10)
    assert leagues, "the poller recorded what it published"
