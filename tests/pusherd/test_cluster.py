"""Two pusherd nodes over the Redis adapter behave as one server (real Redis, real sockets)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator

import orjson
import pusher
import pytest
import redis.asyncio as aioredis
import websockets

from pusherd.config import Secret
from tests.conftest import StartPusherd
from tests.servers import RunningServer

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def cluster(
    start_pusherd: StartPusherd,
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    prefix = f"test:{uuid.uuid4().hex}:"
    nodes = [
        await start_pusherd(
            adapter="redis",
            redis_url=Secret(REDIS_URL),
            redis_prefix=prefix,
            laravel_redis_prefix=None,
        )
        for _ in range(2)
    ]
    yield nodes[0], nodes[1]
    client = aioredis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _connect(server: RunningServer) -> tuple[websockets.ClientConnection, str]:
    ws = await websockets.connect(server.ws_url())
    established = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    return ws, orjson.loads(established["data"])["socket_id"]


async def _recv(ws: websockets.ClientConnection) -> dict[str, object]:
    frame = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    assert isinstance(frame, dict)
    return frame


def _sdk(server: RunningServer) -> pusher.Pusher:
    return pusher.Pusher(
        app_id=server.app_id,
        key=server.key,
        secret=server.secret,
        host="127.0.0.1",
        port=server.port,
        ssl=False,
    )


def _presence_auth(server: RunningServer, socket_id: str, channel: str, data: str) -> str:
    string = f"{socket_id}:{channel}:{data}"
    return (
        server.key
        + ":"
        + hmac.new(server.secret.encode(), string.encode(), hashlib.sha256).hexdigest()
    )


async def test_a_trigger_on_one_node_reaches_subscribers_of_both(
    cluster: tuple[RunningServer, RunningServer],
) -> None:
    a, b = cluster
    on_a, _ = await _connect(a)
    on_b, _ = await _connect(b)
    for ws in (on_a, on_b):
        await ws.send(
            orjson.dumps({"event": "pusher:subscribe", "data": {"channel": "matches"}}).decode()
        )
        assert (await _recv(ws))["event"] == "pusher_internal:subscription_succeeded"
    await asyncio.to_thread(_sdk(a).trigger, "matches", "match.update", '{"id":7}')
    for ws in (on_a, on_b):
        assert await _recv(ws) == {
            "event": "match.update",
            "channel": "matches",
            "data": '{"id":7}',
        }
    info = await asyncio.to_thread(_sdk(b).channels_info)
    assert info == {"channels": {"matches": {}}}
    await on_a.close()
    await on_b.close()


async def test_presence_spans_nodes(cluster: tuple[RunningServer, RunningServer]) -> None:
    a, b = cluster
    channel = "presence-match.7"
    first, first_id = await _connect(a)
    second, second_id = await _connect(b)
    ada = '{"user_id":"1","user_info":{"name":"Ada"}}'
    lin = '{"user_id":"2","user_info":{"name":"Lin"}}'
    await first.send(
        orjson.dumps(
            {
                "event": "pusher:subscribe",
                "data": {
                    "channel": channel,
                    "auth": _presence_auth(a, first_id, channel, ada),
                    "channel_data": ada,
                },
            }
        ).decode()
    )
    assert (await _recv(first))["event"] == "pusher_internal:subscription_succeeded"
    await second.send(
        orjson.dumps(
            {
                "event": "pusher:subscribe",
                "data": {
                    "channel": channel,
                    "auth": _presence_auth(b, second_id, channel, lin),
                    "channel_data": lin,
                },
            }
        ).decode()
    )
    joined = await _recv(second)
    assert joined["event"] == "pusher_internal:subscription_succeeded", joined
    presence = orjson.loads(str(joined["data"]))["presence"]
    assert presence["count"] == 2 and presence["hash"]["1"] == {"name": "Ada"}
    added = await _recv(first)
    assert added["event"] == "pusher_internal:member_added"
    await second.close()
    removed = await _recv(first)
    assert removed == {
        "event": "pusher_internal:member_removed",
        "channel": channel,
        "data": '{"user_id":"2"}',
    }
    await first.close()


async def test_terminate_closes_the_user_on_the_other_node(
    cluster: tuple[RunningServer, RunningServer],
) -> None:
    a, b = cluster
    ws, socket_id = await _connect(b)
    user_data = '{"id":"42"}'
    signature = hmac.new(
        b.secret.encode(), f"{socket_id}::user::{user_data}".encode(), hashlib.sha256
    ).hexdigest()
    await ws.send(
        orjson.dumps(
            {
                "event": "pusher:signin",
                "data": {"auth": f"{b.key}:{signature}", "user_data": user_data},
            }
        ).decode()
    )
    assert (await _recv(ws))["event"] == "pusher:signin_success"
    await asyncio.to_thread(_sdk(a).terminate_user_connections, "42")
    error = await _recv(ws)
    assert error["data"] == {"code": 4009, "message": "Connection terminated by the app"}
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4009
