"""The one owner of what a join or a leave causes (issue 13 #2): pure, so checked case by case."""

from __future__ import annotations

import orjson

from pusherd.state.consequences import (
    Arrival,
    Consequences,
    Departure,
    arrival_consequences,
    consequences_of,
    departure_consequences,
)


def _events(frames: tuple[bytes, ...]) -> list[tuple[str, object]]:
    return [(frame["event"], orjson.loads(frame["data"])) for frame in map(orjson.loads, frames)]


def test_a_new_member_is_announced_to_everyone_but_its_socket() -> None:
    result = arrival_consequences(Arrival("3", "presence-a", True, 1, "7", {"name": "Ada"}, "1.1"))
    assert _events(result.frames) == [
        ("pusher_internal:member_added", {"user_id": "7", "user_info": {"name": "Ada"}})
    ]
    assert result.except_socket_id == "1.1"
    assert result.webhooks == (("member_added", "7"), ("channel_occupied", None))
    assert result.count == 1


def test_a_dead_nodes_users_each_leave_and_the_channel_is_vacated_once() -> None:
    result = departure_consequences(Departure("3", "presence-a", True, 0, ("7", "8")))
    assert [data for _, data in _events(result.frames)] == [{"user_id": "7"}, {"user_id": "8"}]
    assert result.webhooks == (
        ("member_removed", "7"),
        ("member_removed", "8"),
        ("channel_vacated", None),
    )
    assert result.count == 0


def test_a_signed_in_user_going_offline_tells_watchers_not_webhooks() -> None:
    result = consequences_of(Departure("3", "#server-to-user-7", True, 0))
    assert (result.offline, result.webhooks, result.frames) == ("7", (), ())
    joined = consequences_of(Arrival("3", "#server-to-user-7", True, 1))
    assert (joined.online, joined.webhooks) == ("7", ())


def test_internal_channels_raise_no_webhooks() -> None:
    assert consequences_of(Arrival("3", "#api-key-1", True, 1)).webhooks == ()
    assert consequences_of(Departure("3", "#watchers-7", True, 0)).webhooks == ()


def test_a_leave_of_a_channel_never_held_causes_nothing() -> None:
    assert consequences_of(Departure("3", "a", True, 0, ("7",), was_subscribed=False)) == (
        Consequences()
    )
