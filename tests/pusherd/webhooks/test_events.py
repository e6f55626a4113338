"""The webhook timing rules of reference §10.3/§10.4, driven by a FakeClock (no sleeping)."""

from __future__ import annotations

import pytest

from pusherd.clock import FakeClock
from pusherd.webhooks.events import (
    MISSED_MAX,
    CacheMiss,
    ChannelOccupied,
    ChannelVacated,
    ClientEvent,
    MemberAdded,
    MemberRemoved,
    SubscriptionCount,
    WebhookEvent,
    WebhookRules,
)

# -- §10.3 event shapes, exactly ------------------------------------------------------------------

SHAPES: list[tuple[WebhookEvent, dict[str, object]]] = [
    (ChannelOccupied("my-channel"), {"name": "channel_occupied", "channel": "my-channel"}),
    (ChannelVacated("my-channel"), {"name": "channel_vacated", "channel": "my-channel"}),
    (
        MemberAdded("presence-your_channel_name", "a_user_id"),
        {"name": "member_added", "channel": "presence-your_channel_name", "user_id": "a_user_id"},
    ),
    (
        MemberRemoved("presence-your_channel_name", "a_user_id"),
        {"name": "member_removed", "channel": "presence-your_channel_name", "user_id": "a_user_id"},
    ),
    (
        ClientEvent("presence-match.7", "client-typing", '{"typing":true}', "123.456", "42"),
        {
            "name": "client_event",
            "channel": "presence-match.7",
            "event": "client-typing",
            "data": '{"typing":true}',
            "socket_id": "123.456",
            "user_id": "42",
        },
    ),
    (
        ClientEvent("private-x", "client-typing", "{}", "1.2"),
        {
            "name": "client_event",
            "channel": "private-x",
            "event": "client-typing",
            "data": "{}",
            "socket_id": "1.2",
        },
    ),
    (CacheMiss("cache-scores"), {"name": "cache_miss", "channel": "cache-scores"}),
    (
        SubscriptionCount("matches", 42),
        {"name": "subscription_count", "channel": "matches", "subscription_count": 42},
    ),
]


@pytest.mark.parametrize(("event", "payload"), SHAPES)
def test_event_payloads_match_reference_10_3(
    event: WebhookEvent, payload: dict[str, object]
) -> None:
    assert event.to_payload() == payload
    assert list(event.to_payload()) == list(payload)  # key order as documented


def test_member_events_carry_no_user_info_checklist_86() -> None:
    assert set(MemberAdded("presence-a", "1").to_payload()) == {"name", "channel", "user_id"}
    assert set(MemberRemoved("presence-a", "1").to_payload()) == {"name", "channel", "user_id"}


# -- §10.4 the 3-s hold of channel_vacated / member_removed ---------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_first_subscriber_occupies_at_once_checklist_84(clock: FakeClock) -> None:
    rules = WebhookRules()
    assert rules.channel_occupied("a", clock.monotonic()) == [ChannelOccupied("a")]
    assert rules.next_deadline() is None


def test_channel_vacated_fires_three_seconds_later_checklist_84(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.channel_occupied("a", clock.monotonic())
    assert rules.channel_vacated("a", clock.monotonic()) == []
    assert rules.next_deadline() == clock.monotonic() + 3.0
    clock.advance(2.999)
    assert rules.due(clock.monotonic()) == []
    clock.advance(0.001)
    assert rules.due(clock.monotonic()) == [ChannelVacated("a")]
    assert rules.due(clock.monotonic() + 10) == []
    assert rules.next_deadline() is None


def test_resubscribing_within_the_window_sends_neither_checklist_84(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.channel_occupied("a", clock.monotonic())
    rules.channel_vacated("a", clock.monotonic())
    clock.advance(2.5)
    assert rules.channel_occupied("a", clock.monotonic()) == []
    clock.advance(10)
    assert rules.due(clock.monotonic()) == []
    assert rules.next_deadline() is None


def test_resubscribing_after_the_window_sends_both(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.channel_vacated("a", clock.monotonic())
    clock.advance(3)
    assert rules.due(clock.monotonic()) == [ChannelVacated("a")]
    assert rules.channel_occupied("a", clock.monotonic()) == [ChannelOccupied("a")]


def test_a_second_vacate_after_a_cancel_is_held_from_its_own_time(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.channel_vacated("a", clock.monotonic())
    clock.advance(1)
    rules.channel_occupied("a", clock.monotonic())
    rules.channel_vacated("a", clock.monotonic())
    clock.advance(2)  # the first hold's deadline: cancelled, so nothing
    assert rules.due(clock.monotonic()) == []
    assert rules.next_deadline() == clock.monotonic() + 1
    clock.advance(1)
    assert rules.due(clock.monotonic()) == [ChannelVacated("a")]


def test_member_removed_is_held_and_cancelled_by_rejoin_checklist_86(clock: FakeClock) -> None:
    rules = WebhookRules()
    assert rules.member_added("presence-a", "u1", clock.monotonic()) == [
        MemberAdded("presence-a", "u1")
    ]
    assert rules.member_removed("presence-a", "u1", clock.monotonic()) == []
    assert rules.member_removed("presence-a", "u2", clock.monotonic()) == []
    clock.advance(1)
    assert rules.member_added("presence-a", "u1", clock.monotonic()) == []
    clock.advance(2)
    assert rules.due(clock.monotonic()) == [MemberRemoved("presence-a", "u2")]


def test_held_events_come_out_in_the_order_they_happened(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.member_removed("presence-a", "u1", clock.monotonic())
    rules.channel_vacated("presence-a", clock.monotonic())
    clock.advance(0.5)
    rules.channel_vacated("b", clock.monotonic())
    clock.advance(3)
    assert rules.due(clock.monotonic()) == [
        MemberRemoved("presence-a", "u1"),
        ChannelVacated("presence-a"),
        ChannelVacated("b"),
    ]


def test_hold_length_is_a_parameter(clock: FakeClock) -> None:
    rules = WebhookRules(hold_s=0.25)
    rules.channel_vacated("a", clock.monotonic())
    clock.advance(0.25)
    assert rules.due(clock.monotonic()) == [ChannelVacated("a")]


# -- §10.3/§11 cache_miss once per channel until the cache is filled ------------------------------


def test_ten_subscribers_of_an_empty_cache_channel_give_one_cache_miss_checklist_88(
    clock: FakeClock,
) -> None:
    rules = WebhookRules()
    events = [e for _ in range(10) for e in rules.cache_miss("cache-x", clock.monotonic())]
    assert events == [CacheMiss("cache-x")]
    assert rules.cache_miss("cache-y", clock.monotonic()) == [CacheMiss("cache-y")]


def test_cache_miss_fires_again_after_the_cache_was_filled(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.cache_miss("cache-x", clock.monotonic())
    rules.cache_filled("cache-x")
    assert rules.cache_miss("cache-x", clock.monotonic()) == [CacheMiss("cache-x")]
    assert rules.cache_miss("cache-x", clock.monotonic()) == []
    rules.cache_filled("cache-never-missed")  # harmless


# -- §10.3/§12 subscription_count: above 100, at most once per 5 s, latest value at the end -------


def test_small_channels_report_every_change(clock: FakeClock) -> None:
    rules = WebhookRules()
    for count in (1, 2, 100, 3):
        assert rules.subscription_count("m", count, clock.monotonic()) == [
            SubscriptionCount("m", count)
        ]
    assert rules.next_deadline() is None


def test_big_channels_report_at_most_once_per_five_seconds(clock: FakeClock) -> None:
    rules = WebhookRules()
    sent: list[tuple[float, int]] = []

    def record(events: list[WebhookEvent]) -> None:
        for event in events:
            assert isinstance(event, SubscriptionCount)
            sent.append((clock.monotonic() - 1000.0, event.subscription_count))

    record(rules.subscription_count("m", 101, clock.monotonic()))
    for count in range(102, 140):  # one change every 0.25 s for 9.5 s
        clock.advance(0.25)
        record(rules.due(clock.monotonic()))
        record(rules.subscription_count("m", count, clock.monotonic()))
    clock.advance(0.5)
    record(rules.due(clock.monotonic()))
    clock.advance(5)
    record(rules.due(clock.monotonic()))
    assert sent == [(0.0, 101), (5.0, 120), (10.0, 139)]
    times = [at for at, _ in sent]
    assert all(later - earlier >= 5.0 for earlier, later in zip(times, times[1:], strict=False))
    assert rules.next_deadline() is None


def test_a_quiet_window_closes_and_the_next_change_goes_at_once(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.subscription_count("m", 150, clock.monotonic())
    clock.advance(5)
    assert rules.due(clock.monotonic()) == []
    clock.advance(1)
    assert rules.subscription_count("m", 151, clock.monotonic()) == [SubscriptionCount("m", 151)]


def test_a_drop_below_the_threshold_inside_a_window_waits_for_its_end(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.subscription_count("m", 101, clock.monotonic())
    clock.advance(1)
    assert rules.subscription_count("m", 100, clock.monotonic()) == []
    clock.advance(4)
    assert rules.due(clock.monotonic()) == [SubscriptionCount("m", 100)]


def test_drain_releases_everything_held(clock: FakeClock) -> None:
    rules = WebhookRules()
    rules.channel_vacated("a", clock.monotonic())
    rules.member_removed("presence-b", "u", clock.monotonic())
    rules.subscription_count("m", 200, clock.monotonic())
    rules.subscription_count("m", 201, clock.monotonic())
    assert rules.drain() == [
        ChannelVacated("a"),
        MemberRemoved("presence-b", "u"),
        SubscriptionCount("m", 201),
    ]
    assert rules.next_deadline() is None
    assert rules.due(clock.monotonic() + 100) == []


def test_the_memory_of_cache_misses_is_bounded_after_100k_distinct_channels(
    clock: FakeClock,
) -> None:
    # Issue 10, item 10: every distinct never-filled cache- channel used to stay forever.
    rules = WebhookRules()
    for n in range(100_000):
        assert rules.cache_miss(f"cache-{n}", clock.monotonic()) == [CacheMiss(f"cache-{n}")]
    assert rules.missed_count() <= MISSED_MAX
    # The newest are still de-duplicated; the oldest forgotten may be reported once more.
    assert rules.cache_miss("cache-99999", clock.monotonic()) == []
    assert rules.cache_miss("cache-0", clock.monotonic()) == [CacheMiss("cache-0")]


def test_a_remembered_cache_miss_expires_after_its_memory_span(clock: FakeClock) -> None:
    rules = WebhookRules(miss_memory_s=60.0)
    rules.cache_miss("cache-x", clock.monotonic())
    clock.advance(59)
    assert rules.cache_miss("cache-x", clock.monotonic()) == []
    rules.cache_miss("cache-y", clock.monotonic())
    clock.advance(2)
    assert rules.cache_miss("cache-z", clock.monotonic()) == [CacheMiss("cache-z")]
    assert rules.missed_count() == 2  # cache-x forgotten, cache-y and cache-z remembered
    assert rules.cache_miss("cache-x", clock.monotonic()) == [CacheMiss("cache-x")]
