from __future__ import annotations

import pytest

from poller.config import SettingsError, load_settings


def test_defaults_are_direct_hosts_without_a_key() -> None:
    settings = load_settings({})
    assert settings.sports == ("football", "basketball", "baseball")
    assert settings.hosts["football"].base_url == "https://v3.football.api-sports.io"
    assert not settings.hosts["football"].is_rapidapi and settings.api_key is None


def test_rapidapi_mode_from_the_host_setting() -> None:
    settings = load_settings(
        {"RAPIDAPI_KEY": "s3cr3t-key", "RAPIDAPI_HOST": "api-football-v1.p.rapidapi.com"}
    )
    football = settings.hosts["football"]
    assert football.is_rapidapi and football.rapidapi_host == "api-football-v1.p.rapidapi.com"
    assert football.base_url == "https://api-football-v1.p.rapidapi.com/v3"
    assert settings.hosts["basketball"].rapidapi_host == "api-basketball.p.rapidapi.com"
    assert "s3cr3t" not in repr(settings)


def test_base_url_override_and_direct_key() -> None:
    settings = load_settings(
        {
            "RAPIDAPI_KEY": "k",
            "RAPIDAPI_BASE_URL": "http://127.0.0.1:9/x",
            "POLLER_SPORTS": "football",
        }
    )
    assert settings.hosts["football"].base_url == "http://127.0.0.1:9/x"
    assert settings.api_key is not None and settings.api_key.reveal() == "k"


def test_simulator_mode_mounts_every_sport_under_its_prefix() -> None:
    settings = load_settings({}, simulator_url="http://127.0.0.1:5/")
    assert settings.hosts["baseball"].base_url == "http://127.0.0.1:5/baseball"


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"POLLER_SPORTS": "curling"}, "curling"),
        ({"POLLER_DAILY_LIMIT": "lots"}, "POLLER_DAILY_LIMIT"),
        ({"POLLER_TIMEOUT_S": "x"}, "POLLER_TIMEOUT_S"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], word: str) -> None:
    with pytest.raises(SettingsError, match=word):
        load_settings(env)
