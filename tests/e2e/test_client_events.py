"""Client events between pusher-js clients (checklist §18 D34–D36, D40, D41; reference §7)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import StartPusherd
from tests.e2e.conftest import OpenDriver
from tests.e2e.node_driver import NodeDriver
from tests.servers import RunningServer

pytestmark = pytest.mark.node


async def test_d34_private_client_event_reaches_others_but_not_the_sender(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    channel = "private-chat.1"
    sender = await driver.pusher("a", pusherd_server, signer="node")
    others = [await driver.pusher(n, pusherd_server, signer="python") for n in ("b", "c")]
    for client in (sender, *others):
        await client.connected()
        await client.subscribe(channel)
    since = driver.cursor

    assert await sender.trigger(channel, "client-x", {"a": 1})

    for client in others:
        got = await client.event(channel, "client-x", since=since)
        assert got["data"] == {"a": 1}
        assert got["metadata"] == {}
        [frame] = [f for f in client.frames_in(since=since) if f["event"] == "client-x"]
        assert frame["channel"] == channel
        assert "user_id" not in frame
        # Relayed double-encoded, like every channel event (reference §1.5, §2.10).
        assert json.loads(frame["data"]) == {"a": 1}
    # Barrier: an HTTP event published afterwards reaches the sender after any relayed echo.
    await driver.sdk_trigger(channel, "barrier", {})
    await sender.event(channel, "barrier", since=since)
    assert [f["event"] for f in sender.frames_in(since=since)] == ["barrier"]


async def test_d35_presence_client_event_carries_the_senders_user_id(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    channel = "presence-chat.2"
    ada = await driver.pusher(
        "ada", pusherd_server, signer="node", user={"user_id": "42", "user_info": {"n": "Ada"}}
    )
    lin = await driver.pusher(
        "lin", pusherd_server, signer="python", user={"user_id": "43", "user_info": {"n": "Lin"}}
    )
    for client in (ada, lin):
        await client.connected()
        await client.subscribe(channel)
    since = driver.cursor

    assert await ada.trigger(channel, "client-typing", {"typing": True})
    got = await lin.event(channel, "client-typing", since=since)

    assert got["data"] == {"typing": True}
    assert got["metadata"] == {"user_id": "42"}


async def test_d35_forged_user_id_in_a_client_event_is_replaced(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    channel = "presence-chat.3"
    ada = await driver.pusher(
        "ada", pusherd_server, signer="node", user={"user_id": "42", "user_info": {"n": "Ada"}}
    )
    lin = await driver.pusher(
        "lin", pusherd_server, signer="node", user={"user_id": "43", "user_info": {"n": "Lin"}}
    )
    for client in (ada, lin):
        await client.connected()
        await client.subscribe(channel)
    since = driver.cursor

    forged = {"event": "client-typing", "channel": channel, "data": {"x": 1}, "user_id": "43"}
    assert await ada.send_raw(forged)
    got = await lin.event(channel, "client-typing", since=since)

    assert got["metadata"] == {"user_id": "42"}
    [frame] = [f for f in lin.frames_in(since=since) if f["event"] == "client-typing"]
    assert frame["user_id"] == "42"
    assert json.loads(frame["data"]) == {"x": 1}


async def test_d36_client_event_on_public_channel_is_refused_and_not_relayed(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    sender = await driver.pusher("a", pusherd_server)
    other = await driver.pusher("b", pusherd_server)
    for client in (sender, other):
        await client.connected()
        await client.subscribe("matches")
    since = driver.cursor

    # pusher-js sends it (it only checks the `client-` prefix); the server must refuse it.
    assert await sender.trigger("matches", "client-x", {"a": 1})

    error = await driver.wait_for(since=since, obs="conn_error", client="a")
    assert error["error"]["type"] == "PusherError"
    await driver.sdk_trigger("matches", "barrier", {})
    await other.event("matches", "barrier", since=since)
    assert not other.events("matches", "client-x", since=since)
    assert (await sender.state())["state"] == "connected"


async def test_d40_eleventh_client_event_in_a_second_gets_4301_and_is_dropped(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    channel = "private-chat.40"
    sender = await driver.pusher("a", pusherd_server, signer="node")
    other = await driver.pusher("b", pusherd_server, signer="node")
    for client in (sender, other):
        await client.connected()
        await client.subscribe(channel)
    since = driver.cursor

    assert await sender.trigger(channel, "client-burst", {"n": 1}, repeat=11)

    error = await driver.wait_for(since=since, obs="conn_error", client="a")
    assert error["error"] == {
        "type": "PusherError",
        "data": {"code": 4301, "message": "Client event rejected due to rate limit"},
    }
    await driver.sdk_trigger(channel, "barrier", {})
    await other.event(channel, "barrier", since=since)
    assert len(other.events(channel, "client-burst", since=since)) == 10
    assert (await sender.state())["state"] == "connected"
    assert not driver.find(since=since, obs="closed")


async def test_d41_client_events_disabled_for_the_app_are_refused(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    server = await start_pusherd(client_events_enabled=False)
    driver = await open_driver(server)
    channel = "private-chat.41"
    sender = await driver.pusher("a", server, signer="node")
    other = await driver.pusher("b", server, signer="node")
    for client in (sender, other):
        await client.connected()
        await client.subscribe(channel)
    since = driver.cursor

    assert await sender.trigger(channel, "client-typing", {"typing": True})

    error = await driver.wait_for(since=since, obs="conn_error", client="a")
    assert error["error"]["type"] == "PusherError"
    assert isinstance(error["error"]["data"]["message"], str)
    await driver.sdk_trigger(channel, "barrier", {})
    await other.event(channel, "barrier", since=since)
    assert not other.events(channel, "client-typing", since=since)
    assert (await sender.state())["state"] == "connected"
