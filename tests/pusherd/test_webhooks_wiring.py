"""Webhooks fired by real sockets, received by a real endpoint (checklist 84, 86, 87, 88)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pusher
import pytest
import websockets

from pusherd.config import WebhookTarget
from tests.conftest import StartPusherd
from tests.pusherd.webhooks.receiver import Receiver, run_receiver
from tests.servers import RunningServer


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with run_receiver() as running:
        yield running


async def _connect(server: RunningServer) -> tuple[websockets.ClientConnection, str]:
    ws = await websockets.connect(server.ws_url())
    established = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    return ws, orjson.loads(established["data"])["socket_id"]


async def _subscribe(ws: websockets.ClientConnection, channel: str, **extra: str) -> None:
    await ws.send(
        orjson.dumps({"event": "pusher:subscribe", "data": {"channel": channel, **extra}}).decode()
    )
    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    assert reply["event"] == "pusher_internal:subscription_succeeded", reply


def _sign(server: RunningServer, text: str) -> str:
    digest = hmac.new(server.secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return f"{server.key}:{digest}"


async def _events(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    return await receiver.wait_for_events(count)


async def test_socket_activity_fires_signed_webhooks(
    start_pusherd: StartPusherd, receiver: Receiver
) -> None:
    server = await start_pusherd(webhooks=(WebhookTarget(receiver.url),))
    ws, socket_id = await _connect(server)
    channel = "presence-room"
    channel_data = '{"user_id":"42","user_info":{"name":"Ada"}}'
    await _subscribe(
        ws,
        channel,
        auth=_sign(server, f"{socket_id}:{channel}:{channel_data}"),
        channel_data=channel_data,
    )
    await ws.send(
        orjson.dumps(
            {"event": "client-typing", "channel": channel, "data": {"typing": True}}
        ).decode()
    )
    events = await _events(receiver, 3)
    assert sorted(event["name"] for event in events[:3]) == [
        "channel_occupied",
        "client_event",
        "member_added",
    ]
    client_event = next(event for event in events if event["name"] == "client_event")
    assert client_event == {
        "name": "client_event",
        "channel": channel,
        "event": "client-typing",
        "data": '{"typing":true}',
        "socket_id": socket_id,
        "user_id": "42",
    }
    member = next(event for event in events if event["name"] == "member_added")
    assert member == {"name": "member_added", "channel": channel, "user_id": "42"}
    # The official SDK accepts every request pusherd sent.
    sdk = pusher.Pusher(app_id=server.app_id, key=server.key, secret=server.secret)
    for request in receiver.requests:
        assert sdk.validate_webhook(
            request.headers["x-pusher-key"],
            request.headers["x-pusher-signature"],
            request.body.decode(),
        )
    await ws.close()
    # channel_vacated and member_removed come about 3 s after the last socket left (§10.4).
    events = await _events(receiver, 5)
    assert {event["name"] for event in events[3:]} == {"channel_vacated", "member_removed"}


async def test_cache_miss_fires_once_for_many_subscribers(
    start_pusherd: StartPusherd, receiver: Receiver
) -> None:
    """Checklist 88: ten sockets on one empty cache channel make one cache_miss webhook."""
    server = await start_pusherd(
        webhooks=(WebhookTarget(receiver.url, event_types=("cache_miss",)),)
    )
    sockets = []
    for _ in range(10):
        ws, _ = await _connect(server)
        await _subscribe(ws, "cache-scores")
        miss = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
        assert miss == {"event": "pusher:cache_miss", "channel": "cache-scores"}
        sockets.append(ws)
    # A later event proves the first is alone: a fill then a miss on another channel.
    ws, _ = await _connect(server)
    await _subscribe(ws, "cache-other")
    sockets.append(ws)
    events = await _events(receiver, 2)
    assert events == [
        {"name": "cache_miss", "channel": "cache-scores"},
        {"name": "cache_miss", "channel": "cache-other"},
    ]
    for ws in sockets:
        await ws.close()
