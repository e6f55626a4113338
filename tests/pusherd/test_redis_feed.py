"""The Redis feed: bus envelopes and Laravel's redis broadcaster, over a real Redis (§14.8)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
import redis.asyncio as aioredis
import websockets

from pusherd.config import Secret
from pusherd.protocol.bus import BUS_FIELD, bus_stream, encode_bus_message
from pusherd.protocol.frames import encode_event
from pusherd.redis_feed import FeedMessageError, laravel_frame
from tests.conftest import StartPusherd
from tests.poller.tcpproxy import TcpProxy
from tests.servers import RunningServer

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_laravel_message_drops_socket_from_data_and_excludes_it() -> None:
    """Checklist 96: ``socket`` leaves the payload and names the socket to skip."""
    message = b'{"event":"match.update","data":{"id":7,"socket":"1.2"},"socket":"1.2"}'
    frame, socket = laravel_frame("matches", message)
    assert socket == "1.2"
    decoded = orjson.loads(frame)
    assert decoded == {"event": "match.update", "channel": "matches", "data": '{"id":7}'}


def test_laravel_message_with_empty_php_array_payload_becomes_an_object() -> None:
    frame, socket = laravel_frame("matches", b'{"event":"ping","data":[],"socket":null}')
    assert socket is None
    assert orjson.loads(frame)["data"] == "{}"


def test_laravel_message_keeps_php_escaping_out_of_the_relayed_data() -> None:
    message = b'{"event":"App\\\\Events\\\\Goal","data":{"url":"a\\/b"},"socket":null}'
    frame, _ = laravel_frame("matches", message)
    decoded = orjson.loads(frame)
    assert decoded["event"] == "App\\Events\\Goal"
    assert orjson.loads(decoded["data"]) == {"url": "a/b"}


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ("matches", b"not json"),
        ("matches", b'{"data":{}}'),
        ("matches", b'{"event":5}'),
        ("bad channel", b'{"event":"x","data":{}}'),
    ],
)
def test_malformed_laravel_messages_are_refused(channel: str, message: bytes) -> None:
    with pytest.raises(FeedMessageError):
        laravel_frame(channel, message)


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


async def _subscribed(
    server: RunningServer, channel: str
) -> tuple[websockets.ClientConnection, str]:
    """A subscribed socket and its socket id."""
    ws = await websockets.connect(server.ws_url())
    established = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    socket_id = orjson.loads(established["data"])["socket_id"]
    await ws.send(
        orjson.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}).decode()
    )
    await asyncio.wait_for(ws.recv(), 2)
    return ws, socket_id


async def _feed_server(start_pusherd: StartPusherd, prefix: str) -> RunningServer:
    """A server whose feed listens on a per-test bus and Laravel prefix."""
    return await start_pusherd(
        redis_url=Secret(REDIS_URL),
        redis_prefix=f"test:{uuid.uuid4().hex}:",
        laravel_redis_prefix=prefix,
    )


async def _publish_until_received(
    redis_client: aioredis.Redis, channel: str, message: bytes, ws: websockets.ClientConnection
) -> bytes:
    """The feed subscribes in the background: publish until someone listens, then read."""
    for _ in range(50):
        if await redis_client.publish(channel, message):
            break
        await asyncio.sleep(0.05)
    received = await asyncio.wait_for(ws.recv(), 2)
    assert isinstance(received, str)
    return received.encode()


async def test_bus_envelope_reaches_subscribers_byte_for_byte(
    start_pusherd: StartPusherd, redis_client: aioredis.Redis
) -> None:
    server = await _feed_server(start_pusherd, f"laravel_{uuid.uuid4().hex}_")
    ws, _ = await _subscribed(server, "sports.football")
    frame = encode_event("match.update", "sports.football", '{"match_id":1}')
    envelope = encode_bus_message(server.app_id, "sports.football", frame)
    await redis_client.xadd(bus_stream(server.settings.redis_prefix), {BUS_FIELD: envelope})
    assert await asyncio.wait_for(ws.recv(), 2) == frame.decode()
    await ws.close()
    await redis_client.delete(bus_stream(server.settings.redis_prefix))


async def test_bus_entries_appended_while_the_feed_is_cut_off_all_arrive(
    start_pusherd: StartPusherd, redis_client: aioredis.Redis
) -> None:
    """Issue 6: a lost Redis connection (or a Redis restart) loses no change: the feed reads
    the stream on from the last entry it delivered."""
    proxy = TcpProxy(6379)
    await proxy.start()
    prefix = f"test:{uuid.uuid4().hex}:"
    server = await start_pusherd(
        redis_url=Secret(f"redis://127.0.0.1:{proxy.port}/0"),
        redis_prefix=prefix,
        laravel_redis_prefix=None,
    )
    ws, _ = await _subscribed(server, "sports.football")
    frames = [encode_event("match.update", "sports.football", f'{{"n":{n}}}') for n in range(20)]

    async def append(frame: bytes) -> None:
        envelope = encode_bus_message(server.app_id, "sports.football", frame)
        await redis_client.xadd(bus_stream(prefix), {BUS_FIELD: envelope})

    try:
        await append(frames[0])
        assert await asyncio.wait_for(ws.recv(), 2) == frames[0].decode()
        await proxy.stop()  # pusherd loses Redis; the poller's side goes on appending
        for frame in frames[1:15]:
            await append(frame)
        await proxy.start()
        for frame in frames[15:]:
            await append(frame)
        received = [await asyncio.wait_for(ws.recv(), 10) for _ in frames[1:]]
        assert received == [frame.decode() for frame in frames[1:]]
    finally:
        await ws.close()
        await asyncio.to_thread(server.stop)
        await proxy.stop()
        await redis_client.delete(bus_stream(prefix))


@pytest.mark.parametrize("prefix", ["", "laravel_database_", "laravel-database-"])
async def test_laravel_redis_broadcast_skips_the_sender_socket(
    start_pusherd: StartPusherd, redis_client: aioredis.Redis, prefix: str
) -> None:
    """Checklist 96 and 97: every subscriber but socket ``socket`` gets the event."""
    channel = f"matches-{uuid.uuid4().hex}"
    server = await _feed_server(start_pusherd, prefix)
    sender, sender_id = await _subscribed(server, channel)
    other, _ = await _subscribed(server, channel)
    message = orjson.dumps(
        {"event": "match.update", "data": {"id": 7, "socket": sender_id}, "socket": sender_id}
    )
    received = await _publish_until_received(redis_client, prefix + channel, message, other)
    assert orjson.loads(received) == {
        "event": "match.update",
        "channel": channel,
        "data": '{"id":7}',
    }
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sender.recv(), 0.3)
    await sender.close()
    await other.close()


async def test_oversized_feed_messages_are_dropped_and_the_feed_goes_on(
    start_pusherd: StartPusherd, redis_client: aioredis.Redis
) -> None:
    """The HTTP API's 10 KB data limit holds for events that come through Redis too."""
    prefix = f"laravel_{uuid.uuid4().hex}_"
    server = await _feed_server(start_pusherd, prefix)
    ws, _ = await _subscribed(server, "matches")
    stream = bus_stream(server.settings.redis_prefix)
    oversized = encode_event("big", "matches", "x" * 20_000)
    await redis_client.xadd(
        stream, {BUS_FIELD: encode_bus_message(server.app_id, "matches", oversized)}
    )
    big = orjson.dumps({"event": "big", "data": {"blob": "x" * 20_000}, "socket": None})
    small = orjson.dumps({"event": "small", "data": {"n": 1}, "socket": None})
    for _ in range(50):  # the pattern subscription is made in the background
        if await redis_client.publish(prefix + "matches", big):
            break
        await asyncio.sleep(0.05)
    await redis_client.publish(prefix + "matches", small)
    received = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    assert received["event"] == "small"
    await ws.close()
    await redis_client.delete(stream)
