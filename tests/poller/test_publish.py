from __future__ import annotations

import orjson
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from poller.publish import BusPublisher, CallbackPublisher, PublishError
from poller.routing import Outbound
from pusherd.protocol.frames import encode_event
from tests.bus import bus_messages
from tests.poller.tcpproxy import TcpProxy

MESSAGES = [
    Outbound("sports.football", "match.update", '{"match_id":1}'),
    Outbound("cache-sports.football", "match.update", '{"match_id":1}'),
    Outbound("private-sports.football.leagues.x.matches.1", "match.event", '{"event_id":2}'),
]


async def test_callback_publisher_hands_over_encoded_frames() -> None:
    got: list[tuple[str, str, bytes]] = []
    publisher = CallbackPublisher(deliver=lambda *args: got.append(args), app_id="42")
    await publisher.publish(MESSAGES)
    assert [(a, c) for a, c, _ in got] == [("42", m.channel) for m in MESSAGES]
    frame = orjson.loads(got[0][2])
    assert frame == {
        "event": "match.update",
        "channel": "sports.football",
        "data": '{"match_id":1}',
    }  # data stays a JSON string (double encoding)


async def test_callback_failure_is_a_publish_error() -> None:
    def boom(app_id: str, channel: str, frame: bytes) -> None:
        raise RuntimeError("adapter gone")

    with pytest.raises(PublishError):
        await CallbackPublisher(deliver=boom).publish(MESSAGES)


@pytest.mark.redis
async def test_bus_publisher_sends_pusherd_envelopes(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    publisher = BusPublisher(redis=redis_client, app_id="1", prefix=redis_prefix)
    await publisher.publish(MESSAGES)
    envelopes = await bus_messages(redis_client, redis_prefix)
    assert [(e.app_id, e.channel, e.except_socket_id) for e in envelopes] == [
        ("1", m.channel, None) for m in MESSAGES
    ]
    assert envelopes[2].frame == encode_event("match.event", MESSAGES[2].channel, MESSAGES[2].data)


@pytest.mark.redis
async def test_redis_restart_loses_no_change(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    proxy = TcpProxy(6379)
    await proxy.start()
    # No client-side retries: the poller's own loop retries (and keeps the batch) instead.
    client = aioredis.Redis(
        host="127.0.0.1", port=proxy.port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    publisher = BusPublisher(redis=client, prefix=redis_prefix)
    try:
        await publisher.publish(MESSAGES[:1])
        await proxy.stop()  # "Redis" goes away
        with pytest.raises(PublishError):
            await publisher.publish(MESSAGES[1:])
        await proxy.start()  # back on the same port
        await publisher.publish(MESSAGES[1:])  # the caller retries what failed
    finally:
        await client.aclose()
        await proxy.stop()
    channels = [envelope.channel for envelope in await bus_messages(redis_client, redis_prefix)]
    assert channels == [m.channel for m in MESSAGES]
