"""One contract suite for every :class:`Adapter` (house rule 7; broadcaster's ``test_broadcast``).

Each test runs against every implementation in ``IMPLEMENTATIONS`` (the in-memory reference and
one Redis node); a new adapter joins the suite by adding one line there. Deliveries and writes are
awaited through :func:`settle` and :func:`eventually`, so an adapter whose fan-out or storage
crosses a network passes the same tests as the in-memory one.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from pusherd.adapters.base import (
    Adapter,
    ChannelStats,
    JoinResult,
    LeaveResult,
    user_channel,
)
from pusherd.adapters.local import LocalAdapter
from pusherd.adapters.redis import RedisAdapter
from pusherd.clock import FakeClock
from pusherd.protocol.frames import encode_event
from pusherd.protocol.session import Member

#: A running adapter for one test, given the test's clock; stopped and cleaned up on exit.
AdapterFactory = Callable[[FakeClock], AbstractAsyncContextManager[Adapter]]

REDIS_URL = "redis://127.0.0.1:6379/0"


@asynccontextmanager
async def local_adapter(clock: FakeClock) -> AsyncIterator[Adapter]:
    adapter = LocalAdapter(clock=clock)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()


@asynccontextmanager
async def redis_adapter(clock: FakeClock) -> AsyncIterator[Adapter]:
    """One node on the real Redis, under a key prefix of its own (house rule 14)."""
    client = aioredis.from_url(REDIS_URL)
    prefix = f"test:{uuid.uuid4().hex}:"
    adapter = RedisAdapter(
        redis=client,
        prefix=prefix,
        node_id="node-a",
        clock=clock,
        rng=random.Random(0),
    )
    try:
        await adapter.start()
        await asyncio.wait_for(adapter.is_listening.wait(), SETTLE_S)
        yield adapter
    finally:
        await adapter.stop()
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


IMPLEMENTATIONS = [
    pytest.param(local_adapter, id="local"),
    pytest.param(redis_adapter, id="redis", marks=pytest.mark.redis),
]

APP = "3"
MAX_MEMBERS = 100
#: The one time unit for waits on deliveries that cross a network (house rule 14).
SETTLE_S = 2.0


class FakeSubscriber:
    """A socket as the fan-out sees it, recording every WebSocket frame delivered to it."""

    __slots__ = ("_socket_id", "frames", "is_terminated")

    def __init__(self, socket_id: str) -> None:
        self._socket_id = socket_id
        self.frames: list[bytes] = []
        self.is_terminated = False

    @property
    def socket_id(self) -> str:
        return self._socket_id

    def deliver(self, ws_frame: bytes) -> None:
        self.frames.append(ws_frame)

    def terminate(self) -> None:
        self.is_terminated = True

    @property
    def payloads(self) -> list[bytes]:
        """The Pusher frames inside the delivered WebSocket frames."""
        return [unframe(frame) for frame in self.frames]


def unframe(ws_frame: bytes) -> bytes:
    """The payload of one unmasked, final text frame (RFC 6455 §5.2)."""
    assert ws_frame[0] == 0x81, "a final text frame"
    assert not ws_frame[1] & 0x80, "server frames are not masked"
    length, offset = ws_frame[1], 2
    if length == 126:
        length, offset = int.from_bytes(ws_frame[2:4], "big"), 4
    elif length == 127:
        length, offset = int.from_bytes(ws_frame[2:10], "big"), 10
    payload = ws_frame[offset:]
    assert len(payload) == length
    return payload


async def settle(*expected: tuple[FakeSubscriber, int]) -> None:
    """Wait until each subscriber holds the given number of frames (at once for local fan-out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_S
    while any(len(subscriber.frames) < count for subscriber, count in expected):
        assert loop.time() < deadline, "deliveries did not arrive in time"
        await asyncio.sleep(0.001)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=IMPLEMENTATIONS)
async def adapter(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Adapter]:
    factory: AdapterFactory = request.param
    async with factory(clock) as instance:
        yield instance


async def eventually(condition: Callable[[], Any], what: str) -> None:
    """Poll an async condition until it holds, within the one time unit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_S
    while not await condition():
        assert loop.time() < deadline, f"{what} did not happen in time"
        await asyncio.sleep(0.005)


async def join(
    adapter: Adapter,
    channel: str,
    subscriber: FakeSubscriber,
    member: Member | None = None,
    max_presence_members: int = MAX_MEMBERS,
) -> JoinResult:
    return await adapter.join(
        APP, channel, subscriber, member, max_presence_members=max_presence_members
    )


def event(data: str = '{"id":7}', channel: str = "matches") -> bytes:
    return encode_event("match.update", channel, data)


# -- publish ---------------------------------------------------------------------------------------


async def test_publish_reaches_every_subscriber(adapter: Adapter) -> None:
    """Checklist 13: the frame arrives byte-identical."""
    a, b = FakeSubscriber("1.1"), FakeSubscriber("2.2")
    await join(adapter, "matches", a)
    await join(adapter, "matches", b)
    frame = event()
    adapter.publish(APP, "matches", frame)
    await settle((a, 1), (b, 1))
    assert a.payloads == [frame]
    assert b.payloads == [frame]


async def test_publish_skips_the_excluded_socket(adapter: Adapter) -> None:
    """Checklist 21: ``socket_id`` on a trigger excludes that socket only."""
    a, b, c = FakeSubscriber("1.1"), FakeSubscriber("2.2"), FakeSubscriber("3.3")
    for subscriber in (a, b, c):
        await join(adapter, "matches", subscriber)
    first, marker = event('{"n":1}'), event('{"n":2}')
    adapter.publish(APP, "matches", first, "2.2")
    adapter.publish(APP, "matches", marker)
    await settle((a, 2), (b, 1), (c, 2))
    assert a.payloads == [first, marker]
    assert b.payloads == [marker]
    assert c.payloads == [first, marker]


async def test_publish_frames_once_and_writes_the_same_bytes_object(adapter: Adapter) -> None:
    """House rule 8: one WebSocket frame per event, the same object for every subscriber."""
    subscribers = [FakeSubscriber(f"{n}.{n}") for n in range(5)]
    for subscriber in subscribers:
        await join(adapter, "matches", subscriber)
    adapter.publish(APP, "matches", event("x" * 300))
    await settle(*((subscriber, 1) for subscriber in subscribers))
    first = subscribers[0].frames[0]
    assert all(subscriber.frames[0] is first for subscriber in subscribers)


async def test_publish_reaches_only_that_channel_and_app(adapter: Adapter) -> None:
    on_channel, elsewhere, other_app = (
        FakeSubscriber("1.1"),
        FakeSubscriber("2.2"),
        FakeSubscriber("3.3"),
    )
    await join(adapter, "matches", on_channel)
    await join(adapter, "other", elsewhere)
    await adapter.join("4", "matches", other_app, None, max_presence_members=MAX_MEMBERS)
    adapter.publish(APP, "matches", event())
    marker_other, marker_app = event(channel="other"), event(channel="matches")
    adapter.publish(APP, "other", marker_other)
    adapter.publish("4", "matches", marker_app)
    await settle((on_channel, 1), (elsewhere, 1), (other_app, 1))
    assert on_channel.payloads == [event()]
    assert elsewhere.payloads == [marker_other]
    assert other_app.payloads == [marker_app]


async def test_publish_to_an_unoccupied_channel_is_fine(adapter: Adapter) -> None:
    adapter.publish(APP, "nobody-here", event())
    assert await adapter.channels(APP, "") == {}


async def test_after_leaving_nothing_more_is_delivered(adapter: Adapter) -> None:
    """Checklist 19."""
    a, b = FakeSubscriber("1.1"), FakeSubscriber("2.2")
    await join(adapter, "matches", a)
    await join(adapter, "matches", b)
    await adapter.leave(APP, "matches", "1.1", None)
    adapter.publish(APP, "matches", event())
    await settle((b, 1))
    assert a.frames == []


async def test_large_payload_uses_extended_length(adapter: Adapter) -> None:
    subscriber = FakeSubscriber("1.1")
    await join(adapter, "matches", subscriber)
    frame = event("x" * 70_000)
    adapter.publish(APP, "matches", frame)
    await settle((subscriber, 1))
    assert subscriber.payloads == [frame]


# -- join and leave --------------------------------------------------------------------------------


async def test_first_join_occupies_and_last_leave_vacates(adapter: Adapter) -> None:
    """§10.3 channel_occupied / channel_vacated transitions."""
    a, b = FakeSubscriber("1.1"), FakeSubscriber("2.2")
    assert await join(adapter, "matches", a) == JoinResult(
        is_channel_occupied=True, subscription_count=1
    )
    assert await join(adapter, "matches", b) == JoinResult(subscription_count=2)
    assert await adapter.leave(APP, "matches", "1.1", None) == LeaveResult(
        was_subscribed=True, subscription_count=1
    )
    assert await adapter.leave(APP, "matches", "2.2", None) == LeaveResult(
        was_subscribed=True, is_channel_vacated=True, subscription_count=0
    )


async def test_repeated_join_of_a_socket_is_counted_once(adapter: Adapter) -> None:
    """§2.4: a repeated subscribe succeeds again without double-counting."""
    a = FakeSubscriber("1.1")
    await join(adapter, "matches", a)
    assert await join(adapter, "matches", a) == JoinResult(subscription_count=1)
    assert await adapter.channel_stats(APP, "matches") == ChannelStats(1, None)


async def test_leaving_a_channel_not_held_changes_nothing(adapter: Adapter) -> None:
    assert await adapter.leave(APP, "matches", "1.1", None) == LeaveResult()
    await join(adapter, "matches", FakeSubscriber("2.2"))
    result = await adapter.leave(APP, "matches", "1.1", Member("1", None))
    assert not (result.was_subscribed or result.is_channel_vacated or result.is_member_removed)
    assert await adapter.channel_stats(APP, "matches") == ChannelStats(1, None)


async def test_presence_member_added_only_on_a_users_first_socket(adapter: Adapter) -> None:
    """§6.3, checklist 24 and 25."""
    ada = Member("42", {"name": "Ada"})
    first = await join(adapter, "presence-x", FakeSubscriber("1.1"), ada)
    assert first == JoinResult(
        is_channel_occupied=True,
        is_member_added=True,
        members={"42": {"name": "Ada"}},
        subscription_count=1,
    )
    second_tab = await join(adapter, "presence-x", FakeSubscriber("2.2"), ada)
    assert second_tab == JoinResult(
        is_member_added=False, members={"42": {"name": "Ada"}}, subscription_count=2
    )
    lin = await join(adapter, "presence-x", FakeSubscriber("3.3"), Member("43", None))
    assert lin.is_member_added
    # The joiner is in its own roster (§2.5).
    assert lin.members == {"42": {"name": "Ada"}, "43": None}


async def test_presence_member_removed_only_on_a_users_last_socket(adapter: Adapter) -> None:
    """§6.3, checklist 26 and 27."""
    ada = Member("42", None)
    await join(adapter, "presence-x", FakeSubscriber("1.1"), ada)
    await join(adapter, "presence-x", FakeSubscriber("2.2"), ada)
    await join(adapter, "presence-x", FakeSubscriber("3.3"), Member("43", None))
    assert await adapter.leave(APP, "presence-x", "1.1", ada) == LeaveResult(
        was_subscribed=True, subscription_count=2
    )
    assert await adapter.members(APP, "presence-x") == {"42": None, "43": None}
    assert await adapter.leave(APP, "presence-x", "2.2", ada) == LeaveResult(
        was_subscribed=True, is_member_removed=True, subscription_count=1
    )
    assert await adapter.members(APP, "presence-x") == {"43": None}
    assert await adapter.leave(APP, "presence-x", "3.3", Member("43", None)) == LeaveResult(
        was_subscribed=True, is_channel_vacated=True, is_member_removed=True
    )
    assert await adapter.members(APP, "presence-x") == {}


async def test_presence_full_refuses_new_users_but_not_existing_ones(adapter: Adapter) -> None:
    """Checklist 30: the 101st distinct user is refused; a member's second socket is not."""
    limit = 3
    for n in range(limit):
        result = await join(
            adapter, "presence-x", FakeSubscriber(f"{n}.0"), Member(str(n), None), limit
        )
        assert result.is_member_added and not result.is_refused_full
    newcomer = FakeSubscriber("9.9")
    refused = await join(adapter, "presence-x", newcomer, Member("new", None), limit)
    assert refused == JoinResult(is_refused_full=True)
    # Nothing changed: the newcomer is not subscribed and not a member.
    assert await adapter.channel_stats(APP, "presence-x") == ChannelStats(limit, limit)
    assert "new" not in await adapter.members(APP, "presence-x")
    adapter.publish(APP, "presence-x", event(channel="presence-x"))
    second_tab = await join(adapter, "presence-x", FakeSubscriber("0.1"), Member("0", None), limit)
    assert not second_tab.is_refused_full
    assert not second_tab.is_member_added
    assert second_tab.subscription_count == limit + 1
    assert newcomer.frames == []


async def test_presence_seat_frees_when_a_user_leaves(adapter: Adapter) -> None:
    await join(adapter, "presence-x", FakeSubscriber("1.1"), Member("1", None), 1)
    assert (await join(adapter, "presence-x", FakeSubscriber("2.2"), Member("2", None), 1)) == (
        JoinResult(is_refused_full=True)
    )
    await adapter.leave(APP, "presence-x", "1.1", Member("1", None))
    result = await join(adapter, "presence-x", FakeSubscriber("2.2"), Member("2", None), 1)
    assert result.is_member_added


async def test_presence_user_info_is_the_first_sockets(adapter: Adapter) -> None:
    """§6.2."""
    await join(adapter, "presence-x", FakeSubscriber("1.1"), Member("42", {"v": 1}))
    result = await join(adapter, "presence-x", FakeSubscriber("2.2"), Member("42", {"v": 2}))
    assert result.members == {"42": {"v": 1}}


# -- channel information ---------------------------------------------------------------------------


async def test_channel_stats(adapter: Adapter) -> None:
    """§9.5: subscription_count everywhere, user_count only on presence channels."""
    assert await adapter.channel_stats(APP, "matches") == ChannelStats(0, None)
    assert await adapter.channel_stats(APP, "presence-x") == ChannelStats(0, 0)
    await join(adapter, "matches", FakeSubscriber("1.1"))
    await join(adapter, "matches", FakeSubscriber("2.2"))
    await join(adapter, "presence-x", FakeSubscriber("1.1"), Member("42", None))
    await join(adapter, "presence-x", FakeSubscriber("2.2"), Member("42", None))
    await join(adapter, "presence-x", FakeSubscriber("3.3"), Member("43", None))
    assert await adapter.channel_stats(APP, "matches") == ChannelStats(2, None)
    assert await adapter.channel_stats(APP, "presence-x") == ChannelStats(3, 2)
    assert await adapter.channel_stats("4", "matches") == ChannelStats(0, None)


async def test_channels_lists_occupied_channels_by_prefix(adapter: Adapter) -> None:
    """§9.4: only occupied channels; user_count for presence ones."""
    await join(adapter, "matches", FakeSubscriber("1.1"))
    await join(adapter, "private-a", FakeSubscriber("1.1"))
    await join(adapter, "presence-room", FakeSubscriber("1.1"), Member("1", None))
    await join(adapter, "presence-room", FakeSubscriber("2.2"), Member("1", None))
    await join(adapter, "presence-cache-x", FakeSubscriber("1.1"), Member("2", None))
    await join(adapter, "left", FakeSubscriber("1.1"))
    await adapter.leave(APP, "left", "1.1", None)
    await adapter.join("4", "presence-room", FakeSubscriber("9.9"), None, max_presence_members=1)
    everything: dict[str, Any] = await adapter.channels(APP, "")
    assert everything == {
        "matches": ChannelStats(1, None),
        "private-a": ChannelStats(1, None),
        "presence-room": ChannelStats(2, 1),
        "presence-cache-x": ChannelStats(1, 1),
    }
    assert await adapter.channels(APP, "presence-") == {
        "presence-room": ChannelStats(2, 1),
        "presence-cache-x": ChannelStats(1, 1),
    }
    assert await adapter.channels(APP, "private-") == {"private-a": ChannelStats(1, None)}
    assert await adapter.channels(APP, "nothing-") == {}


async def test_members_are_distinct_users_with_their_info(adapter: Adapter) -> None:
    """§9.6: distinct ids as strings."""
    assert await adapter.members(APP, "presence-x") == {}
    await join(adapter, "presence-x", FakeSubscriber("1.1"), Member("42", {"name": "Ada"}))
    await join(adapter, "presence-x", FakeSubscriber("2.2"), Member("42", {"name": "Ada"}))
    await join(adapter, "presence-x", FakeSubscriber("3.3"), Member("10", None))
    members = await adapter.members(APP, "presence-x")
    assert members == {"42": {"name": "Ada"}, "10": None}
    assert await adapter.members("4", "presence-x") == {}


async def test_member_frames_survive_the_adapter_byte_for_byte(adapter: Adapter) -> None:
    """What the transport publishes after a join reaches the others unchanged."""
    a, b = FakeSubscriber("1.1"), FakeSubscriber("2.2")
    await join(adapter, "presence-x", a, Member("1", None))
    await join(adapter, "presence-x", b, Member("2", {"n": "B"}))
    frame = orjson.dumps(
        {
            "event": "pusher_internal:member_added",
            "channel": "presence-x",
            "data": '{"user_id":"2"}',
        }
    )
    adapter.publish(APP, "presence-x", frame, "2.2")
    adapter.publish(APP, "presence-x", event(channel="presence-x"))
    await settle((a, 2), (b, 1))
    assert a.payloads == [frame, event(channel="presence-x")]
    assert b.payloads == [event(channel="presence-x")]


# -- cache channels (§11) and terminate (§13.4) ----------------------------------------------------


async def test_cache_channel_remembers_the_last_event_until_its_ttl(
    adapter: Adapter, clock: FakeClock
) -> None:
    """Checklist 76 and 78."""
    first, last = event('{"n":1}', "cache-x"), event('{"n":2}', "cache-x")
    assert await adapter.cached_event(APP, "cache-x") is None
    adapter.publish(APP, "cache-x", first, cache_ttl_s=60)
    adapter.publish(APP, "cache-x", last, cache_ttl_s=60)

    async def is_last_cached() -> bool:
        cached = await adapter.cached_event(APP, "cache-x")
        return cached is not None and cached.frame == last

    await eventually(is_last_cached, "caching")
    cached = await adapter.cached_event(APP, "cache-x")
    assert cached is not None
    assert abs(cached.expires_at - (clock.time() + 60)) < 1
    assert await adapter.cached_event("4", "cache-x") is None


async def test_cached_event_expires_after_its_ttl(adapter: Adapter, clock: FakeClock) -> None:
    """Checklist 78; a store with its own clock (Redis) expires it in real time."""
    ttl_s = 0.3
    adapter.publish(APP, "cache-x", event(channel="cache-x"), cache_ttl_s=ttl_s)

    async def is_cached() -> bool:
        return await adapter.cached_event(APP, "cache-x") is not None

    async def is_expired() -> bool:
        return not await is_cached()

    await eventually(is_cached, "caching")
    clock.advance(ttl_s)
    await eventually(is_expired, "expiry")


@pytest.mark.parametrize(
    "channel", ["private-cache-x", "presence-cache-x", "private-encrypted-cache-x"]
)
async def test_every_cache_variant_remembers(adapter: Adapter, channel: str) -> None:
    adapter.publish(APP, channel, event(channel=channel), cache_ttl_s=60)

    async def is_cached() -> bool:
        cached = await adapter.cached_event(APP, channel)
        return cached is not None and cached.frame == event(channel=channel)

    await eventually(is_cached, "caching")


async def test_non_cache_channels_and_uncached_publishes_remember_nothing(
    adapter: Adapter,
) -> None:
    """§11: only cache channels; client events (no ttl) are never cached."""
    adapter.publish(APP, "matches", event(), cache_ttl_s=60)
    adapter.publish(APP, "cache-x", event(channel="cache-x"))
    # A marker that is cached: once it is there, the publishes before it have been applied.
    adapter.publish(APP, "cache-marker", event(channel="cache-marker"), cache_ttl_s=60)

    async def is_marker_cached() -> bool:
        return await adapter.cached_event(APP, "cache-marker") is not None

    await eventually(is_marker_cached, "caching")
    assert await adapter.cached_event(APP, "matches") is None
    assert await adapter.cached_event(APP, "cache-x") is None


async def test_cached_publish_is_delivered_too(adapter: Adapter) -> None:
    subscriber = FakeSubscriber("1.1")
    await join(adapter, "cache-x", subscriber)
    adapter.publish(APP, "cache-x", event(channel="cache-x"), cache_ttl_s=60)
    await settle((subscriber, 1))
    assert subscriber.payloads == [event(channel="cache-x")]


async def test_terminate_user_closes_every_socket_signed_in_as_that_user(
    adapter: Adapter,
) -> None:
    """Checklist 74: every connection of user 42 and no other."""
    tab_1, tab_2, other, other_app = (FakeSubscriber(f"{n}.{n}") for n in range(4))
    await join(adapter, user_channel("42"), tab_1)
    await join(adapter, user_channel("42"), tab_2)
    await join(adapter, user_channel("43"), other)
    await adapter.join("4", user_channel("42"), other_app, None, max_presence_members=1)
    adapter.terminate_user(APP, "42")

    async def are_terminated() -> bool:
        return tab_1.is_terminated and tab_2.is_terminated

    await eventually(are_terminated, "terminate")
    assert not other.is_terminated
    assert not other_app.is_terminated


async def test_terminate_unknown_user_is_fine(adapter: Adapter) -> None:
    adapter.terminate_user(APP, "nobody")


def test_user_channel_is_the_server_to_user_channel() -> None:
    assert user_channel("42") == "#server-to-user-42"
