"""Roster: members counted per user; events only on a user's first and last socket (§6.2, §6.3)."""

from __future__ import annotations

from pusherd.state.presence import Roster

APP, CHANNEL = "1", "presence-match.7"


def test_first_socket_of_a_user_adds_the_member() -> None:
    roster = Roster()
    assert roster.add(APP, CHANNEL, "42", {"name": "Ada"}, "1.1") is True
    assert roster.has_user(APP, CHANNEL, "42")
    assert roster.user_count(APP, CHANNEL) == 1


def test_second_socket_of_the_same_user_adds_nobody() -> None:
    """Checklist 25: no member_added for a second tab, count unchanged."""
    roster = Roster()
    roster.add(APP, CHANNEL, "42", {"name": "Ada"}, "1.1")
    assert roster.add(APP, CHANNEL, "42", {"name": "Ada"}, "2.2") is False
    assert roster.user_count(APP, CHANNEL) == 1


def test_same_socket_added_twice_adds_nobody() -> None:
    roster = Roster()
    roster.add(APP, CHANNEL, "42", None, "1.1")
    assert roster.add(APP, CHANNEL, "42", None, "1.1") is False
    assert roster.remove(APP, CHANNEL, "42", "1.1") is True


def test_only_the_last_socket_of_a_user_removes_the_member() -> None:
    """Checklist 26."""
    roster = Roster()
    roster.add(APP, CHANNEL, "42", None, "1.1")
    roster.add(APP, CHANNEL, "42", None, "2.2")
    assert roster.remove(APP, CHANNEL, "42", "1.1") is False
    assert roster.has_user(APP, CHANNEL, "42")
    assert roster.remove(APP, CHANNEL, "42", "2.2") is True
    assert not roster.has_user(APP, CHANNEL, "42")
    assert roster.user_count(APP, CHANNEL) == 0
    assert roster.members(APP, CHANNEL) == {}


def test_removing_unknown_sockets_or_users_reports_nothing() -> None:
    roster = Roster()
    assert roster.remove(APP, CHANNEL, "42", "1.1") is False
    roster.add(APP, CHANNEL, "42", None, "1.1")
    assert roster.remove(APP, CHANNEL, "43", "1.1") is False
    assert roster.remove(APP, CHANNEL, "42", "9.9") is False
    assert roster.has_user(APP, CHANNEL, "42")


def test_user_info_is_the_first_sockets() -> None:
    """§6.2: later sockets of the same user do not change user_info."""
    roster = Roster()
    roster.add(APP, CHANNEL, "42", {"name": "Ada"}, "1.1")
    roster.add(APP, CHANNEL, "42", {"name": "Changed"}, "2.2")
    assert roster.members(APP, CHANNEL) == {"42": {"name": "Ada"}}


def test_members_in_join_order_with_null_info() -> None:
    """§2.5: the presence ``hash``; ``None`` when a member supplied no user_info."""
    roster = Roster()
    roster.add(APP, CHANNEL, "43", {"id": 43}, "1.1")
    roster.add(APP, CHANNEL, "42", None, "2.2")
    roster.add(APP, CHANNEL, "44", {"id": 44}, "3.3")
    assert list(roster.members(APP, CHANNEL).items()) == [
        ("43", {"id": 43}),
        ("42", None),
        ("44", {"id": 44}),
    ]


def test_rejoin_after_leaving_is_a_new_member() -> None:
    roster = Roster()
    roster.add(APP, CHANNEL, "42", None, "1.1")
    roster.remove(APP, CHANNEL, "42", "1.1")
    assert roster.add(APP, CHANNEL, "42", {"again": True}, "2.2") is True
    assert roster.members(APP, CHANNEL) == {"42": {"again": True}}


def test_channels_and_apps_are_separate() -> None:
    roster = Roster()
    roster.add(APP, CHANNEL, "42", None, "1.1")
    assert roster.add(APP, "presence-other", "42", None, "1.1") is True
    assert roster.add("2", CHANNEL, "42", None, "1.1") is True
    assert roster.remove(APP, CHANNEL, "42", "1.1") is True
    assert roster.has_user(APP, "presence-other", "42")
    assert roster.has_user("2", CHANNEL, "42")
    assert roster.user_count("3", CHANNEL) == 0
