from __future__ import annotations

from pathlib import Path

import pytest

from auth.config import DEFAULT_REDIS_PREFIX, load_settings, read_policy
from auth.sql import DEFAULT_DATABASE_URL


def test_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.redis_url is None
    assert settings.app_key is None and settings.app_secret is None
    assert settings.options.key_header == "Authorization"
    assert settings.options.cors_origins == ()
    assert settings.options.cache_ttl_s == 30.0
    assert settings.options.redis_prefix == DEFAULT_REDIS_PREFIX


def test_environment_values_are_read_and_secrets_wrapped() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://u@127.0.0.1/db",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "PUSHER_APP_KEY": "key",
            "PUSHER_APP_SECRET": "very-secret",
            "PUSHER_ENCRYPTION_MASTER_KEY_BASE64": "bWFzdGVy",
            "AUTH_KEY_HEADER": "X-Api-Key",
            "AUTH_CORS_ORIGINS": "https://a.example, https://b.example,",
            "AUTH_CACHE_TTL_S": "5",
        }
    )
    assert settings.app_secret is not None and settings.app_secret.reveal() == "very-secret"
    assert "very-secret" not in repr(settings)
    assert "bWFzdGVy" not in repr(settings)
    assert settings.options.cors_origins == ("https://a.example", "https://b.example")
    assert settings.options.cache_ttl_s == 5.0
    assert settings.options.key_header == "X-Api-Key"


def test_app_credentials_follow_pusherds_variable_order() -> None:
    settings = load_settings(
        {"PUSHER_APP_KEY": "pusher", "REVERB_APP_KEY": "reverb", "PUSHER_APP_SECRET": "s"}
    )
    assert settings.app_key == "reverb"
    assert settings.app_secret is not None and settings.app_secret.reveal() == "s"
    assert load_settings({"PUSHERD_APP_KEY": "mine", "REVERB_APP_KEY": "r"}).app_key == "mine"


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_bad_numbers_name_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="AUTH_CACHE_TTL_S"):
        load_settings({"AUTH_CACHE_TTL_S": value})


def test_read_policy_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        """
[[tiers]]
name = "fan"
channel_kinds = ["public", "presence"]
max_connections = 3
rest_requests_per_minute = 10

[[channels]]
pattern = "presence-sports.{sport}.leagues.{league}.matches.{match}"
tier = "fan"
user_info = ["name"]
where = { match = "[0-9]+" }
""",
        encoding="utf-8",
    )
    policy = read_policy(str(path))
    assert policy.tiers.names == ("fan",)
    assert policy.rules.rules[0].user_info == ("name",)
    assert read_policy(None).tiers.names == ("free", "pro", "enterprise")


def test_read_policy_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[tiers]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.toml"):
        read_policy(str(broken))
    invalid = tmp_path / "invalid.toml"
    invalid.write_text('[[channels]]\npattern = "private-x"\ntier = "gold"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"invalid.toml.*channels\[0\].tier"):
        read_policy(str(invalid))
    with pytest.raises(ValueError, match="missing.toml"):
        read_policy(str(tmp_path / "missing.toml"))


def test_the_example_policy_file_is_the_default_policy() -> None:
    example = Path(__file__).resolve().parents[2] / "auth" / "policy.example.toml"
    loaded, default = read_policy(str(example)), read_policy(None)
    assert loaded.tiers.names == default.tiers.names
    assert list(loaded.tiers) == list(default.tiers)
    assert loaded.rules.rules == default.rules.rules
    assert (loaded.signin_tier, loaded.signin_user_info) == (
        default.signin_tier,
        default.signin_user_info,
    )
