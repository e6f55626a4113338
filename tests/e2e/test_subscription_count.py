"""``pusher_internal:subscription_count`` through pusher-js and raw sockets (checklist §18 I82,
I83; reference §2.15, §12)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import StartPusherd
from tests.e2e.clients import PusherJsClient
from tests.e2e.conftest import OpenDriver
from tests.e2e.node_driver import TIME_UNIT_S, NodeDriver
from tests.servers import RunningServer

pytestmark = pytest.mark.node

COUNT = "pusher_internal:subscription_count"
PLAYER: dict[str, Any] = {"user_id": "42", "user_info": {}}


async def _client(driver: NodeDriver, server: RunningServer, name: str) -> PusherJsClient:
    client = await driver.pusher(name, server, signer="node", user=PLAYER)
    await client.connected()
    return client


def _counts(client: PusherJsClient, channel: str, since: int = 0) -> list[Any]:
    return [json.loads(f["data"]) for f in client.frames_named(COUNT, since=since)]


async def test_i82_second_subscriber_makes_both_sockets_see_a_count_of_2(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    server = await start_pusherd(subscription_count_enabled=True)
    driver = await open_driver(server)
    ada = await _client(driver, server, "ada")
    await ada.subscribe("matches", bind=("pusher:subscription_count",))
    # Its own count right after subscribing (§12).
    await driver.wait_for(obs="bound", client="ada", event="pusher:subscription_count")
    assert _counts(ada, "matches") == [{"subscription_count": 1}]
    since = driver.cursor

    lin = await _client(driver, server, "lin")
    await lin.subscribe("matches", bind=("pusher:subscription_count",))

    for client in (ada, lin):
        bound = await driver.wait_for(
            since=since, obs="bound", client=client.name, event="pusher:subscription_count"
        )
        assert bound["data"] == {"subscription_count": 2}
        [frame] = client.frames_named(COUNT, since=since)
        assert frame == {
            "event": COUNT,
            "channel": "matches",
            "data": '{"subscription_count":2}',
        }
        assert (await client.channel_state("matches"))["subscription_count"] == 2

    # Unsubscribing is a change too: the remaining socket sees 1.
    since = driver.cursor
    await lin.unsubscribe("matches")
    frame = await ada.frame(COUNT, since=since)
    assert json.loads(frame["data"]) == {"subscription_count": 1}

    # Never on presence channels (§12): a barrier event follows both joins.
    since = driver.cursor
    await ada.subscribe("presence-room")
    await lin.subscribe("presence-room")
    await driver.sdk_trigger("presence-room", "barrier", {})
    for client in (ada, lin):
        await client.event("presence-room", "barrier", since=since)
        assert not client.frames_named(COUNT, since=since)


async def test_i82_no_count_when_the_feature_is_off(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await _client(driver, pusherd_server, "ada")
    lin = await _client(driver, pusherd_server, "lin")
    await ada.subscribe("matches")
    await lin.subscribe("matches")
    await lin.unsubscribe("matches")

    await driver.sdk_trigger("matches", "barrier", {})

    await ada.event("matches", "barrier")
    assert not ada.frames_named(COUNT)
    assert not lin.frames_named(COUNT)
    assert (await ada.channel_state("matches"))["subscription_count"] is None


class _RawSocket:
    """A raw websockets client that subscribes one channel and records count frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.counts: list[tuple[float, int]] = []
        self.subscribed = asyncio.Event()
        self.changed = asyncio.Event()

    async def read(self) -> None:
        async for message in self.ws:
            frame = json.loads(message)
            if frame["event"] == "pusher_internal:subscription_succeeded":
                self.subscribed.set()
            elif frame["event"] == COUNT:
                count = json.loads(frame["data"])["subscription_count"]
                self.counts.append((time.monotonic(), count))
                self.changed.set()

    async def wait_for_count(self, count: int, timeout_s: float) -> float:
        """Wait until a frame carrying ``count`` arrives; return its arrival time."""
        async with asyncio.timeout(timeout_s):
            while True:
                for arrived, value in self.counts:
                    if value == count:
                        return arrived
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def _raw_sockets(server: RunningServer, n: int) -> AsyncIterator[list[_RawSocket]]:
    """``n`` connected sockets, each read until it closes (so closing never waits on a full
    receive queue)."""
    sockets: list[_RawSocket] = []
    readers: list[asyncio.Task[None]] = []
    try:
        for _ in range(n):
            ws = await connect(server.ws_url())
            sockets.append(_RawSocket(ws))
            await ws.recv()  # pusher:connection_established
            readers.append(asyncio.create_task(sockets[-1].read()))
        yield sockets
    finally:
        async with asyncio.timeout(10 * TIME_UNIT_S):
            await asyncio.gather(*(socket.ws.close() for socket in sockets))
        await asyncio.gather(*readers, return_exceptions=True)


async def _subscribe(socket: _RawSocket, channel: str) -> None:
    await socket.ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
    async with asyncio.timeout(5 * TIME_UNIT_S):
        await socket.subscribed.wait()


async def test_i83_over_100_subscribers_get_at_most_one_count_per_5_s(
    start_pusherd: StartPusherd,
) -> None:
    server = await start_pusherd(subscription_count_enabled=True)
    async with _raw_sockets(server, 103) as sockets:
        watcher = sockets[0]
        for socket in sockets[:100]:
            await _subscribe(socket, "big")
        at_100 = await watcher.wait_for_count(100, 5 * TIME_UNIT_S)

        # Over 100: these changes all fall inside one 5 s window (§12) ...
        for socket in sockets[100:]:
            await _subscribe(socket, "big")  # 101, 102, 103
        await sockets[1].ws.send(
            json.dumps({"event": "pusher:unsubscribe", "data": {"channel": "big"}})
        )  # 102
        # ... so the next frame is the latest value, sent when the window closes.
        at_latest = await watcher.wait_for_count(102, 8 * TIME_UNIT_S)

        counts_after_100 = [count for arrived, count in watcher.counts if arrived > at_100]
        assert counts_after_100 == [102]
        assert at_latest - at_100 >= 4.5
        assert [count for _, count in watcher.counts[:100]] == list(range(1, 101))
