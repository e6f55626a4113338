from __future__ import annotations

from typing import Any

import pytest

from auth.rules import ChannelRule, RuleTable, canonical_channel_name

MATCH = "private-sports.{sport}.leagues.{league}.matches.{match}"


def test_placeholders_capture_one_segment_each() -> None:
    table = RuleTable([ChannelRule(MATCH, tier="pro")])
    found = table.match("private-sports.football.leagues.premier-league.matches.12345")
    assert found is not None
    assert dict(found.params) == {
        "sport": "football",
        "league": "premier-league",
        "match": "12345",
    }
    assert table.match("private-sports.football.leagues.a.b.matches.1") is None
    assert table.match("private-sports.football.leagues.x.matches.1.extra") is None
    assert table.match("presence-sports.football.leagues.x.matches.1") is None


def test_cache_forms_follow_the_plain_rule() -> None:
    assert canonical_channel_name("private-cache-a") == "private-a"
    assert canonical_channel_name("presence-cache-a") == "presence-a"
    assert canonical_channel_name("private-encrypted-cache-a") == "private-encrypted-a"
    assert canonical_channel_name("private-a") == "private-a"
    table = RuleTable([ChannelRule(MATCH, tier="pro")])
    assert table.match("private-cache-sports.football.leagues.nba.matches.7") is not None


def test_where_constrains_a_placeholder_like_laravel() -> None:
    rule = ChannelRule(MATCH, tier="pro", where=(("match", "[0-9]+"),))
    table = RuleTable([rule])
    assert table.match("private-sports.f.leagues.l.matches.42") is not None
    assert table.match("private-sports.f.leagues.l.matches.abc") is None


def test_literal_dots_are_not_wildcards() -> None:
    table = RuleTable([ChannelRule("private-a.b", tier="pro")])
    assert table.match("private-a.b") is not None
    assert table.match("private-aXb") is None


def test_first_matching_rule_wins() -> None:
    specific = ChannelRule("private-sports.football", tier="enterprise")
    general = ChannelRule("private-sports.{sport}", tier="pro")
    found = RuleTable([specific, general]).match("private-sports.football")
    assert found is not None and found.rule is specific


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_info": ("id", "key")}, "unknown user_info"),
        ({"where": (("nope", "x"),)}, "names no placeholder"),
        ({"where": (("sport", "("),)}, "bad 'where'"),
    ],
)
def test_bad_rules_are_refused_at_load(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChannelRule("private-sports.{sport}", tier="pro", **kwargs)


def test_a_placeholder_may_appear_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        ChannelRule("private-{a}.{a}", tier="pro")
