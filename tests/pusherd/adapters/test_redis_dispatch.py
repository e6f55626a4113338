"""One dispatch path (issue 13 #1): every event crosses Redis once, on a stream, and every node,
the sender included, ends in the same local fan-out (real Redis, real feed)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from pusherd.adapters.redis import RedisAdapter
from pusherd.clock import FakeClock
from pusherd.config import AppConfig, Secret
from pusherd.protocol.bus import BUS_FIELD, bus_stream, encode_bus_message
from pusherd.protocol.frames import encode_event
from pusherd.publisher import EventPublisher
from pusherd.redis_feed import GROUP, RedisFeed
from tests.poller.tcpproxy import TcpProxy
from tests.pusherd.adapters.test_contract import FakeSubscriber, settle

REDIS_URL = "redis://127.0.0.1:6379/0"
APP = AppConfig(app_id="3", key="key-3", secret=Secret("secret-3"))
ROOT = Path(__file__).resolve().parents[3]


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


def _adapter(redis: aioredis.Redis, prefix: str, node_id: str) -> RedisAdapter:
    return RedisAdapter(
        redis=redis, prefix=prefix, node_id=node_id, clock=FakeClock(), rng=random.Random(0)
    )


def test_no_local_only_flag_remains() -> None:
    for path in (ROOT / "pusherd").rglob("*.py"):
        assert "local_only" not in path.read_text(), path


async def test_the_sender_delivers_its_own_event_when_it_comes_back_from_redis(
    redis_client: aioredis.Redis,
) -> None:
    prefix = redis_client.test_prefix  # type: ignore[attr-defined]
    node = _adapter(redis_client, prefix, "node-a")
    await node.start()
    try:
        await asyncio.wait_for(node.is_listening.wait(), 2)
        subscriber = FakeSubscriber("1.1")
        await node.join(APP.app_id, "matches", subscriber, None, max_presence_members=9)
        node.publish(APP.app_id, "matches", encode_event("e", "matches", "1"))
        assert subscriber.frames == []  # no shortcut past Redis
        await settle((subscriber, 1))
        assert await redis_client.xlen(f"{prefix}events") == 1
    finally:
        await node.stop()


async def test_a_node_cut_off_from_redis_gets_what_was_published_meanwhile(
    redis_client: aioredis.Redis,
) -> None:
    """A stream, not pub/sub: the cut-off node reads on from the last entry it delivered."""
    prefix = redis_client.test_prefix  # type: ignore[attr-defined]
    proxy = TcpProxy(6379)
    await proxy.start()
    far_client = aioredis.from_url(f"redis://127.0.0.1:{proxy.port}/0")
    near, far = _adapter(redis_client, prefix, "near"), _adapter(far_client, prefix, "far")
    on_far = FakeSubscriber("2.2")
    try:
        for node in (near, far):
            await node.start()
            await asyncio.wait_for(node.is_listening.wait(), 2)
        await far.join(APP.app_id, "matches", on_far, None, max_presence_members=9)
        await proxy.stop()
        frames = [encode_event("e", "matches", str(n)) for n in range(5)]
        for frame in frames:
            near.publish(APP.app_id, "matches", frame)
        await asyncio.sleep(0.3)
        await proxy.start()
        await settle((on_far, 5))
        assert on_far.payloads == frames
    finally:
        await near.stop()
        await asyncio.wait_for(far.stop(), 10)
        await far_client.aclose()
        await proxy.stop()


class RecordingPublisher(EventPublisher):
    def __init__(self) -> None:
        self.published: list[bytes] = []

    def publish(
        self, app: AppConfig, channel: str, frame: bytes, except_socket_id: str | None = None
    ) -> None:
        self.published.append(frame)


def _feed(redis: aioredis.Redis, prefix: str, node_id: str, publisher: EventPublisher) -> RedisFeed:
    return RedisFeed(
        redis=redis,
        publisher=publisher,
        apps_by_id={APP.app_id: APP},
        bus_stream=bus_stream(prefix),
        laravel_prefix=None,
        laravel_app=APP,
        rng=random.Random(0),
        node_id=node_id,
        lease_key=f"{prefix}laravel-reader",
        claim_idle_s=0.2,
    )


async def _append(redis: aioredis.Redis, prefix: str, n: int) -> bytes:
    frame = encode_event("update", "matches", str(n))
    envelope = encode_bus_message(APP.app_id, "matches", frame)
    await redis.xadd(bus_stream(prefix), {BUS_FIELD: envelope})
    return frame


async def test_each_poller_entry_is_published_by_one_node(redis_client: aioredis.Redis) -> None:
    prefix = redis_client.test_prefix  # type: ignore[attr-defined]
    publishers = [RecordingPublisher(), RecordingPublisher()]
    feeds = [_feed(redis_client, prefix, f"node-{n}", publishers[n]) for n in range(2)]
    for feed in feeds:
        await feed.start()
    try:
        frames = [await _append(redis_client, prefix, n) for n in range(20)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3
        while sum(len(p.published) for p in publishers) < 20 and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert sorted(publishers[0].published + publishers[1].published) == sorted(frames)
    finally:
        for feed in feeds:
            await feed.stop()


async def test_an_entry_a_dead_node_took_is_published_by_another(
    redis_client: aioredis.Redis,
) -> None:
    prefix = redis_client.test_prefix  # type: ignore[attr-defined]
    stream = bus_stream(prefix)
    await redis_client.xgroup_create(stream, GROUP, id="$", mkstream=True)
    frame = await _append(redis_client, prefix, 1)
    # A node takes the entry and dies before publishing it.
    taken: Any = await redis_client.xreadgroup(GROUP, "dead-node", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 1
    publisher = RecordingPublisher()
    feed = _feed(redis_client, prefix, "survivor", publisher)
    await feed.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3
        while not publisher.published and loop.time() < deadline:
            await asyncio.sleep(0.02)
        assert publisher.published == [frame]
        pending = await redis_client.xpending(stream, GROUP)
        assert pending["pending"] == 0
    finally:
        await feed.stop()
