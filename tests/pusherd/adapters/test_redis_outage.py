"""The Redis adapter through Redis failures: nothing drifts, and what drifted is repaired.

Each test runs its own throwaway ``redis-server`` (no persistence) on a loopback port, so it can
kill and restart it without touching the shared Redis of the other tests. Two adapters with a
client each are two nodes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pusherd.adapters.base import ChannelStats
from pusherd.adapters.redis import RedisAdapter
from pusherd.clock import FakeClock, IdFactory
from pusherd.metrics import ServerCollector
from pusherd.protocol.session import Member
from pusherd.transport.endpoint import WebSocketEndpoint
from tests.pusherd.adapters.test_contract import FakeSubscriber
from tests.redis_server import RedisProcess
from tests.servers import make_settings

APP = "3"
PRESENCE = "presence-match.7"
#: The bound on any repair: the adapter must notice a restart and re-assert within this.
REPAIR_S = 3.0


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    process = RedisProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.kill()


NodeFactory = Callable[..., Awaitable[RedisAdapter]]


@pytest.fixture
async def start_node(redis_process: RedisProcess) -> AsyncIterator[NodeFactory]:
    """``await start_node("node-a", clock)``: an adapter with its own client, stopped at the end."""
    started: list[tuple[RedisAdapter, aioredis.Redis]] = []

    async def start(node_id: str, clock: FakeClock | None = None) -> RedisAdapter:
        client = aioredis.from_url(redis_process.url)
        adapter = RedisAdapter(
            redis=client,
            prefix="pusherd:",
            node_id=node_id,
            clock=clock or FakeClock(),
            rng=random.Random(0),
        )
        await adapter.start()
        await asyncio.wait_for(adapter.is_listening.wait(), 2)
        started.append((adapter, client))
        return adapter

    try:
        yield start
    finally:
        for adapter, client in started:
            # Bounded: stop() withdraws the node from a Redis that may be gone by now.
            await asyncio.wait_for(adapter.stop(), 10)
            await client.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> float:
    """Poll ``check`` until it holds; returns how long that took (seconds), fails past REPAIR_S."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        try:
            if await check():
                return loop.time() - start
        except (OSError, aioredis.RedisError):
            pass  # Redis still coming back: the repair is what is being waited for.
        assert loop.time() - start < REPAIR_S, f"not repaired within {REPAIR_S} s: {what}"
        await asyncio.sleep(0.02)


async def _join(node: RedisAdapter, socket_id: str, channel: str, user: str | None) -> None:
    member = None if user is None else Member(user, {"name": f"user {user}"})
    result = await node.join(
        APP, channel, FakeSubscriber(socket_id), member, max_presence_members=100
    )
    assert not result.is_refused_full


async def test_a_restart_without_persistence_is_repaired_from_the_nodes(
    redis_process: RedisProcess, start_node: NodeFactory
) -> None:
    """Counts, occupancy and rosters come back from what the nodes still hold (issue 10 #6)."""
    a = await start_node("node-a")
    b = await start_node("node-b")
    for number in ("1", "2", "3"):
        await _join(a, f"1.{number}", PRESENCE, number)
    await _join(b, "2.1", "matches", None)
    await _join(b, "2.2", PRESENCE, "1")  # a second socket of user 1, on the other node

    redis_process.restart()

    async def repaired() -> bool:
        stats = await a.channel_stats(APP, PRESENCE)
        occupied = await b.channels(APP, "")
        members = await b.members(APP, PRESENCE)
        return (
            stats == ChannelStats(4, 3)
            and occupied.keys() == {"matches", PRESENCE}
            and members.keys() == {"1", "2", "3"}
        )

    await eventually(repaired, "counts, channels and members after a restart")
    # A join after the repair counts on top of the re-asserted roster, not on an empty one.
    await _join(b, "2.3", PRESENCE, "4")
    assert await a.channel_stats(APP, PRESENCE) == ChannelStats(5, 4)
    # Leaving after the repair takes exactly what the node re-asserted.
    for socket_id, user in (("1.1", "1"), ("1.2", "2"), ("1.3", "3")):
        await a.leave(APP, PRESENCE, socket_id, Member(user, None))
    assert await b.channel_stats(APP, PRESENCE) == ChannelStats(2, 2)
    assert (await b.members(APP, PRESENCE)).keys() == {"1", "4"}


async def test_a_member_who_left_during_an_outage_is_not_listed_after_it(
    redis_process: RedisProcess, start_node: NodeFactory
) -> None:
    a = await start_node("node-a")
    b = await start_node("node-b")
    watcher = FakeSubscriber("2.1")
    await b.join(APP, PRESENCE, watcher, Member("9", None), max_presence_members=100)
    await _join(a, "1.1", PRESENCE, "1")
    await _join(a, "1.2", PRESENCE, "2")
    redis_process.kill()
    # The leave itself must not fail the caller: the socket is gone whatever Redis says.
    left = await a.leave(APP, PRESENCE, "1.2", Member("2", None))
    assert left.was_subscribed
    redis_process.start()

    async def repaired() -> bool:
        members = await b.members(APP, PRESENCE)
        return members.keys() == {"1", "9"} and await a.channel_stats(APP, PRESENCE) == (
            ChannelStats(2, 2)
        )

    await eventually(repaired, "the member who left is gone, the others are back")

    async def announced() -> bool:
        return any(
            orjson.loads(payload)["event"] == "pusher_internal:member_removed"
            and orjson.loads(orjson.loads(payload)["data"]) == {"user_id": "2"}
            for payload in watcher.payloads
        )

    # The other node's sockets were never told during the outage: the repair tells them.
    await eventually(announced, "member_removed for the user who left during the outage")


async def test_a_leave_that_fails_without_a_restart_is_repaired(
    redis_process: RedisProcess, start_node: NodeFactory
) -> None:
    """Redis keeps its data but refuses the leave's writes (here: out of memory): the counts
    must not keep a socket that is gone once Redis accepts writes again."""
    a = await start_node("node-a")
    b = await start_node("node-b")
    await _join(a, "1.1", PRESENCE, "1")
    await _join(a, "1.2", PRESENCE, "2")
    await _join(b, "2.1", PRESENCE, "9")
    admin = aioredis.from_url(redis_process.url)
    try:
        await admin.config_set("maxmemory", 1)
        await admin.config_set("maxmemory-policy", "noeviction")
        left = await a.leave(APP, PRESENCE, "1.2", Member("2", None))
        assert left.was_subscribed
        await admin.config_set("maxmemory", 0)
    finally:
        await admin.aclose()

    async def repaired() -> bool:
        members = await b.members(APP, PRESENCE)
        return members.keys() == {"1", "9"} and await b.channel_stats(APP, PRESENCE) == (
            ChannelStats(2, 2)
        )

    await eventually(repaired, "the failed leave is applied once Redis takes writes")


async def test_the_first_join_after_an_outage_succeeds(
    redis_process: RedisProcess, start_node: NodeFactory
) -> None:
    a = await start_node("node-a")
    # Several pooled connections, all of them dead after the restart.
    await asyncio.gather(*(_join(a, f"1.{n}", f"room-{n}", None) for n in range(4)))
    redis_process.restart()
    await _join(a, "1.9", PRESENCE, "1")
    await _join(a, "1.10", "room-0", None)
    stats = await a.channel_stats(APP, PRESENCE)
    assert stats == ChannelStats(1, 1)


def _events(subscriber: FakeSubscriber) -> list[tuple[str, object]]:
    frames = [orjson.loads(payload) for payload in subscriber.payloads]
    return [(frame["event"], orjson.loads(frame["data"])) for frame in frames]


async def test_a_node_declared_dead_while_alive_reasserts_itself(
    start_node: NodeFactory,
) -> None:
    """A node cut off from Redis past ``node_timeout_s`` is withdrawn by the others; when it
    reaches Redis again it notices (its heartbeat entry is gone) and puts its members back."""
    clock = FakeClock()
    a = await start_node("node-a", clock)
    b = await start_node("node-b", clock)
    watcher = FakeSubscriber("2.1")
    await b.join(APP, PRESENCE, watcher, Member("9", None), max_presence_members=100)
    await _join(a, "1.1", PRESENCE, "1")
    clock.advance(31)
    await b._heartbeat()
    assert await b.clean_dead_nodes() == ["node-a"]
    assert await b.channel_stats(APP, PRESENCE) == ChannelStats(1, 1)

    await a._heartbeat()  # node-a's next heartbeat after it could reach Redis again

    async def repaired() -> bool:
        members = await b.members(APP, PRESENCE)
        stats = await b.channel_stats(APP, PRESENCE)
        return members == {"1": {"name": "user 1"}, "9": None} and stats == ChannelStats(2, 2)

    await eventually(repaired, "node-a's member is back")

    async def announced() -> bool:
        return (
            "pusher_internal:member_added",
            {"user_id": "1", "user_info": {"name": "user 1"}},
        ) in _events(watcher)

    # The watcher was told user 1 left; it must be told user 1 is back.
    await eventually(announced, "member_added for the member node-a put back")
    assert _events(watcher)[0] == ("pusher_internal:member_removed", {"user_id": "1"})


async def test_the_metrics_read_dropped_writes_and_repair_overflows_from_the_adapter(
    redis_process: RedisProcess,
) -> None:
    """Through ``Adapter.counters()``, whatever the adapter's class (issue 13 #3)."""
    clock = FakeClock()
    client = aioredis.from_url(redis_process.url)
    adapter = RedisAdapter(
        redis=client,
        prefix="pusherd:",
        node_id="node-a",
        clock=clock,
        rng=random.Random(0),
        max_outbox=3,
        max_repair_channels=1,
    )
    await adapter.start()
    settings = make_settings()
    endpoint = WebSocketEndpoint(
        settings=settings,
        apps=settings.apps,
        adapter=adapter,
        clock=clock,
        ids=IdFactory(random.Random(1)),
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(endpoint=endpoint, webhooks=None, adapter=adapter))
    try:
        redis_process.kill()
        for index in range(10):
            adapter.publish(
                APP, "matches", b'{"event":"e","channel":"matches","data":"%d"}' % index
            )
        for channel in ("a", "b"):
            with pytest.raises((OSError, aioredis.RedisError)):
                await _join(adapter, f"1.{channel}", channel, None)
        samples = {
            sample.name: sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples
        }
        assert samples["pusherd_cluster_writes_dropped_total"] == 7
        assert samples["pusherd_cluster_repair_overflows_total"] == 1
    finally:
        await asyncio.wait_for(adapter.stop(), 10)
        await client.aclose()
