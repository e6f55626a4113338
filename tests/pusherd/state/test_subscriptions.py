"""ChannelIndex: who holds which channel, and the occupied/vacated transitions (§10.3, §9.4)."""

from __future__ import annotations

from pusherd.state.subscriptions import ChannelIndex


def test_first_subscription_occupies_the_channel() -> None:
    index: ChannelIndex[str] = ChannelIndex()
    assert index.add("1", "matches", "1.1", "sub-a") == (True, True)
    assert index.add("1", "matches", "2.2", "sub-b") == (True, False)
    assert index.count("1", "matches") == 2


def test_repeated_subscription_of_a_socket_is_neither_new_nor_occupying() -> None:
    """§2.4: a second subscribe of the same socket does not double-count."""
    index: ChannelIndex[str] = ChannelIndex()
    index.add("1", "matches", "1.1", "sub-a")
    assert index.add("1", "matches", "1.1", "sub-a") == (False, False)
    assert index.count("1", "matches") == 1


def test_last_unsubscription_vacates_the_channel() -> None:
    index: ChannelIndex[str] = ChannelIndex()
    index.add("1", "matches", "1.1", "a")
    index.add("1", "matches", "2.2", "b")
    assert index.remove("1", "matches", "1.1") == (True, False)
    assert index.remove("1", "matches", "2.2") == (True, True)
    assert index.count("1", "matches") == 0
    assert index.subscribers("1", "matches") is None
    # Occupied again after being vacated.
    assert index.add("1", "matches", "3.3", "c") == (True, True)


def test_removing_what_is_not_held_changes_nothing() -> None:
    index: ChannelIndex[str] = ChannelIndex()
    assert index.remove("1", "matches", "1.1") == (False, False)
    index.add("1", "matches", "1.1", "a")
    assert index.remove("1", "matches", "9.9") == (False, False)
    assert index.remove("1", "other", "1.1") == (False, False)
    assert index.count("1", "matches") == 1


def test_apps_are_separate() -> None:
    index: ChannelIndex[str] = ChannelIndex()
    assert index.add("1", "matches", "1.1", "a") == (True, True)
    assert index.add("2", "matches", "2.2", "b") == (True, True)
    assert index.subscribers("1", "matches") == {"1.1": "a"}
    assert index.subscribers("2", "matches") == {"2.2": "b"}
    assert index.remove("1", "matches", "1.1") == (True, True)
    assert index.count("2", "matches") == 1


def test_subscribers_maps_socket_id_to_subscriber() -> None:
    index: ChannelIndex[object] = ChannelIndex()
    first, second = object(), object()
    index.add("1", "c", "1.1", first)
    index.add("1", "c", "2.2", second)
    assert index.subscribers("1", "c") == {"1.1": first, "2.2": second}
    assert index.subscribers("1", "unknown") is None


def test_channels_lists_occupied_channels_with_counts_by_prefix() -> None:
    """§9.4: only occupied channels, filtered by prefix, per app."""
    index: ChannelIndex[str] = ChannelIndex()
    index.add("1", "presence-a", "1.1", "x")
    index.add("1", "presence-a", "2.2", "y")
    index.add("1", "private-b", "1.1", "x")
    index.add("1", "matches", "1.1", "x")
    index.add("2", "presence-other-app", "9.9", "z")
    index.add("1", "gone", "1.1", "x")
    index.remove("1", "gone", "1.1")
    assert dict(index.channels("1")) == {"presence-a": 2, "private-b": 1, "matches": 1}
    assert dict(index.channels("1", "presence-")) == {"presence-a": 2}
    assert dict(index.channels("1", "none-")) == {}
    assert dict(index.channels("3")) == {}
