from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from auth.errors import AuthError, Forbidden, Unprocessable
from auth.keys import ApiKey
from auth.policy import default_policy, load_policy, user_info_for
from pusherd.protocol.channels import ChannelKind

NOW = datetime(2027, 1, 1, tzinfo=UTC)
PRIVATE = "private-sports.football.leagues.premier-league.matches.12345"
PRESENCE = "presence-sports.football.leagues.premier-league.matches.12345"


def _key(tier: str) -> ApiKey:
    return ApiKey(
        key_id="0123456789abcdef",
        user_id="u42",
        name="Ada",
        tier=tier,
        key_hash="h",
        created_at=NOW,
    )


def _refusal(channel: str, tier: str) -> AuthError:
    with pytest.raises(AuthError) as info:
        default_policy().authorize_channel(channel, _key(tier))
    return info.value


def test_free_tier_is_refused_a_private_match_channel() -> None:
    error = _refusal(PRIVATE, "free")
    assert isinstance(error, Forbidden) and error.reason == "tier_too_low"


def test_pro_joins_private_but_not_presence() -> None:
    grant = default_policy().authorize_channel(PRIVATE, _key("pro"))
    assert grant.kind is ChannelKind.PRIVATE and grant.tier.name == "pro"
    assert _refusal(PRESENCE, "pro").reason == "tier_too_low"


def test_enterprise_joins_presence_with_id_and_name() -> None:
    grant = default_policy().authorize_channel(PRESENCE, _key("enterprise"))
    assert grant.kind is ChannelKind.PRESENCE
    assert user_info_for(_key("enterprise"), grant.user_info) == {"id": "u42", "name": "Ada"}


def test_cache_form_of_a_match_channel_follows_the_plain_rule() -> None:
    channel = PRIVATE.replace("private-", "private-cache-", 1)
    assert default_policy().authorize_channel(channel, _key("pro")).kind is ChannelKind.PRIVATE


@pytest.mark.parametrize(
    ("channel", "error_type", "reason"),
    [
        ("private-other.thing", Forbidden, "no_rule"),
        ("sports.football", Forbidden, "public_channel"),
        ("#server-to-user-42", Forbidden, "user_channel"),
        ("private-has space", Unprocessable, "invalid_channel_name"),
        ("private-" + "a" * 160, Unprocessable, "invalid_channel_name"),
        ("", Unprocessable, "invalid_channel_name"),
    ],
)
def test_every_other_channel_is_refused_saying_why(
    channel: str, error_type: type[AuthError], reason: str
) -> None:
    error = _refusal(channel, "enterprise")
    assert isinstance(error, error_type) and error.reason == reason


def test_a_tier_without_the_channel_kind_is_refused() -> None:
    policy = load_policy(
        {
            "tiers": [
                {
                    "name": "a",
                    "channel_kinds": ["public"],
                    "max_connections": 1,
                    "rest_requests_per_minute": 1,
                },
                {
                    "name": "b",
                    "channel_kinds": ["public", "private"],
                    "max_connections": 1,
                    "rest_requests_per_minute": 1,
                },
            ],
            "channels": [{"pattern": "presence-room.{id}", "tier": "a"}],
        }
    )
    with pytest.raises(Forbidden) as info:
        policy.authorize_channel("presence-room.1", dataclasses.replace(_key("b")))
    assert info.value.reason == "kind_not_in_tier"


def test_a_key_of_an_unconfigured_tier_is_refused() -> None:
    assert _refusal(PRIVATE, "gold").reason == "unknown_tier"


def test_signin_is_open_to_every_tier_by_default() -> None:
    assert default_policy().authorize_signin(_key("free")).name == "free"


def test_signin_tier_is_configurable() -> None:
    policy = load_policy({"signin": {"tier": "pro", "user_info": ["id"]}})
    assert policy.signin_user_info == ("id",)
    with pytest.raises(Forbidden):
        policy.authorize_signin(_key("free"))


def test_load_policy_reads_a_full_table() -> None:
    policy = load_policy(
        {
            "tiers": [
                {
                    "name": "basic",
                    "channel_kinds": ["public", "private"],
                    "max_connections": 3,
                    "rest_requests_per_minute": 30,
                },
            ],
            "channels": [
                {
                    "pattern": "private-sports.{sport}",
                    "tier": "basic",
                    "where": {"sport": "football|hockey"},
                },
            ],
        }
    )
    assert policy.tiers.names == ("basic",)
    assert policy.authorize_channel("private-sports.hockey", _key("basic")).tier.name == "basic"
    with pytest.raises(Forbidden):
        policy.authorize_channel("private-sports.rugby", _key("basic"))


def test_empty_configuration_is_the_default_policy() -> None:
    loaded, default = load_policy({}), default_policy()
    assert loaded.tiers.names == default.tiers.names
    assert loaded.rules.rules == default.rules.rules
    assert loaded.signin_tier == default.signin_tier == "free"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tiers": {}}, "tiers must be an array"),
        ({"tiers": [{"name": ""}]}, r"tiers\[0\].name"),
        ({"tiers": [{"name": "a", "channel_kinds": ["vip"]}]}, "unknown kinds"),
        ({"tiers": [{"name": "a", "max_connections": -1}]}, "max_connections"),
        ({"tiers": [{"name": "a", "channel_kinds": "public"}]}, "list of strings"),
        (
            {"tiers": [{"name": "a", "max_connections": 1, "rest_requests_per_minute": 1}]},
            "default rule",
        ),
        ({"channels": {}}, "channels must be an array"),
        ({"channels": [{"pattern": "", "tier": "pro"}]}, r"channels\[0\].pattern"),
        ({"channels": [{"pattern": "private-a", "tier": "gold"}]}, r"channels\[0\].tier"),
        ({"channels": [{"pattern": "private-a", "tier": "pro", "where": []}]}, "where"),
        (
            {"channels": [{"pattern": "private-a", "tier": "pro", "user_info": ["key"]}]},
            "user_info",
        ),
        ({"signin": []}, "signin must be a table"),
        ({"signin": {"tier": "gold"}}, "signin.tier"),
    ],
)
def test_load_policy_names_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_policy(data)


def test_a_tiers_data_api_section_is_read_and_checked() -> None:
    from auth.tiers import DataApiAccess

    tier = {"name": "t", "max_connections": 1, "rest_requests_per_minute": 5}
    loaded = load_policy({"tiers": [tier | {"data_api": {"resources": ["live"]}}], "channels": []})
    assert loaded.tiers.names == ("t",)
    access = next(iter(loaded.tiers)).data_api
    assert access == DataApiAccess(frozenset({"live"}), history_days=None)
    default = load_policy({"tiers": [tier], "channels": []})
    assert next(iter(default.tiers)).data_api == DataApiAccess()
    for bad, where in (
        ({"resources": ["everything"]}, "data_api.resources"),
        ({"resources": ["live"], "history_days": -1}, "data_api.history_days"),
        ("all", "data_api must be a table"),
    ):
        with pytest.raises(ValueError, match=where):
            load_policy({"tiers": [tier | {"data_api": bad}], "channels": []})
