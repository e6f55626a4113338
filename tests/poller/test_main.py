from __future__ import annotations

import pytest

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
