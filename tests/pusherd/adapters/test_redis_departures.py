"""A dead node causes what its sockets' clean leaves would have, once per cluster (issue 13 #2).

Three nodes on one real Redis, each with the socket layer's :class:`ChannelActions` and a
recording webhook sink. The doomed node's socket either leaves cleanly or the node stops
heart-beating (as under SIGKILL) and both survivors clean it up at the same moment; the frames
the other sockets see, the webhook calls of the whole cluster and the counts must be the same.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
import redis.asyncio as aioredis

from pusherd.adapters.redis import RedisAdapter
from pusherd.clock import FakeClock
from pusherd.config import AppConfig, Secret
from pusherd.protocol.errors import ConnectionRefused
from pusherd.protocol.session import Member, Session
from pusherd.transport.actions import ChannelActions
from tests.pusherd.adapters.test_contract import FakeSubscriber

REDIS_URL = "redis://127.0.0.1:6379/0"
APP = AppConfig(app_id="3", key="key-3", secret=Secret("secret-3"), subscription_count_enabled=True)
PRESENCE = "presence-match.7"


class RecordingSink:
    """The webhook calls one node makes, in order."""

    def __init__(self, node: str, calls: list[tuple[str, ...]]) -> None:
        self._node = node
        self.calls = calls

    def channel_occupied(self, app_id: str, channel: str) -> None:
        self.calls.append(("channel_occupied", channel))

    def channel_vacated(self, app_id: str, channel: str) -> None:
        self.calls.append(("channel_vacated", channel))

    def member_added(self, app_id: str, channel: str, user_id: str) -> None:
        self.calls.append(("member_added", channel, user_id))

    def member_removed(self, app_id: str, channel: str, user_id: str) -> None:
        self.calls.append(("member_removed", channel, user_id))

    def client_event(
        self, app_id: str, channel: str, event: str, data: str, socket_id: str, user_id: str | None
    ) -> None:
        self.calls.append(("client_event", channel, event))

    def cache_miss(self, app_id: str, channel: str) -> None:
        self.calls.append(("cache_miss", channel))

    def cache_filled(self, app_id: str, channel: str) -> None:
        self.calls.append(("cache_filled", channel))

    def subscription_count(self, app_id: str, channel: str, count: int) -> None:
        self.calls.append(("subscription_count", channel, str(count)))


class FakeConnection(FakeSubscriber):
    """A socket as the channel actions see it; this test only ever has it leave."""

    is_closing = False

    def send(self, payload: bytes) -> None:
        raise AssertionError("a leave sends nothing to the leaving socket")

    def refuse(self, error: ConnectionRefused) -> None:
        raise AssertionError("a leave refuses nothing")


class Node:
    def __init__(self, name: str, redis: aioredis.Redis, prefix: str, clock: FakeClock) -> None:
        self.adapter = RedisAdapter(
            redis=redis,
            prefix=prefix,
            node_id=name,
            clock=clock,
            rng=random.Random(0),
            heartbeat_s=3600,
        )
        self.webhooks: list[tuple[str, ...]] = []
        self.actions = ChannelActions(
            adapter=self.adapter,
            clock=clock,
            webhooks=RecordingSink(name, self.webhooks),
        )
        # As the WebSocket endpoint wires it.
        self.adapter.watch_membership(lambda change: self.actions.carry_out(APP, change))


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    prefix = f"test:{uuid.uuid4().hex}:"
    client.test_prefix = prefix  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _events(subscriber: FakeSubscriber) -> list[tuple[str, object]]:
    frames = [orjson.loads(payload) for payload in subscriber.payloads]
    return [(frame["event"], orjson.loads(frame["data"])) for frame in frames]


async def _run(redis: aioredis.Redis, *, is_killed: bool) -> tuple[object, ...]:
    """Set up the three nodes, take the doomed socket away, return what everyone saw."""
    clock = FakeClock()
    prefix = redis.test_prefix  # type: ignore[attr-defined]
    a, b, doomed = (Node(name, redis, prefix, clock) for name in ("node-a", "node-b", "doomed"))
    for node in (a, b, doomed):
        await node.adapter.start()
        await asyncio.wait_for(node.adapter.is_listening.wait(), 2)
    watcher, fan = FakeSubscriber("1.1"), FakeSubscriber("1.2")
    victim = FakeConnection("9.9")
    try:
        await a.adapter.join(APP.app_id, PRESENCE, watcher, Member("1", {}), max_presence_members=9)
        await b.adapter.join(APP.app_id, "scores", fan, None, max_presence_members=9)
        session = Session(
            socket_id="9.9", app_key=APP.key, app_secret="secret-3", limits=APP.limits
        )
        await doomed.adapter.join(
            APP.app_id, PRESENCE, victim, Member("2", {}), max_presence_members=9
        )
        session.joined(PRESENCE, "2")
        for channel in ("matches", "scores"):
            await doomed.adapter.join(APP.app_id, channel, victim, None, max_presence_members=9)
            session.joined(channel, None)
        if is_killed:
            for task in doomed.adapter._tasks:
                task.cancel()
            await asyncio.gather(*doomed.adapter._tasks, return_exceptions=True)
            clock.advance(31)
            await asyncio.gather(a.adapter._heartbeat(), b.adapter._heartbeat())
            cleaned = await asyncio.gather(
                a.adapter.clean_dead_nodes(), b.adapter.clean_dead_nodes()
            )
            assert sorted(cleaned) == [[], ["doomed"]]
        else:
            for channel in (PRESENCE, "matches", "scores"):
                await doomed.actions.leave(APP, session, victim, channel)
        await asyncio.sleep(0.3)  # the frames cross Redis
        presence = await a.adapter.channel_stats(APP.app_id, PRESENCE)
        stats = {
            channel: (await b.adapter.channel_stats(APP.app_id, channel)).subscription_count
            for channel in ("matches", "scores")
        }
        return (
            sorted(a.webhooks + b.webhooks + doomed.webhooks),
            _events(watcher),
            _events(fan),
            (presence.subscription_count, presence.user_count),
            stats,
        )
    finally:
        for node in (a, b):
            await node.adapter.stop()
        if not is_killed:
            await doomed.adapter.stop()
        doomed.adapter._repair.close()


@pytest.mark.parametrize("is_killed", [False, True], ids=["clean-leave", "killed"])
async def test_a_dead_node_causes_what_a_clean_leave_would_once_per_cluster(
    redis_client: aioredis.Redis, is_killed: bool
) -> None:
    webhooks, watcher_saw, fan_saw, presence, counts = await _run(redis_client, is_killed=is_killed)
    assert webhooks == [
        ("channel_vacated", "matches"),
        ("member_removed", PRESENCE, "2"),
        ("subscription_count", "matches", "0"),
        ("subscription_count", "scores", "1"),
    ]
    assert watcher_saw == [("pusher_internal:member_removed", {"user_id": "2"})]
    assert fan_saw == [("pusher_internal:subscription_count", {"subscription_count": 1})]
    assert presence == (1, 1)
    assert counts == {"matches": 0, "scores": 1}
