"""Public and private channels through pusher-js, events from the Node and Python SDKs
(checklist §18 B12–B14, B19, B21, G52, G53, K94; reference §2.4–§2.9, §5.1, §9.2)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.node_driver import NodeDriver
from tests.e2e.python_sdk import PythonSdk
from tests.servers import RunningServer

pytestmark = pytest.mark.node


async def test_b12_public_subscribe_succeeds_with_empty_object_data(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    client = await driver.pusher("a", pusherd_server)
    await client.connected()

    await client.subscribe("matches")

    sent = [f for f in client.frames_out() if f["event"] == "pusher:subscribe"]
    assert sent == [{"event": "pusher:subscribe", "data": {"auth": "", "channel": "matches"}}]
    succeeded = [
        f for f in client.frames_in() if f["event"] == "pusher_internal:subscription_succeeded"
    ]
    assert succeeded == [
        {"event": "pusher_internal:subscription_succeeded", "channel": "matches", "data": "{}"}
    ]


async def test_b13_http_event_reaches_every_subscriber_with_identical_data(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk
) -> None:
    clients = [await driver.pusher(name, pusherd_server) for name in ("a", "b", "c")]
    for client in clients:
        await client.connected()
        await client.subscribe("matches")
    posted = '{"id":7,"home":2,"away":1,"note":"caf\\u00e9 \\/ 1"}'
    since = driver.cursor

    await python_sdk.trigger("matches", "match.update", posted)

    for client in clients:
        got = await client.event("matches", "match.update", since=since)
        assert got["data"] == json.loads(posted)
        frames = [f for f in client.frames_in(since=since) if f["event"] == "match.update"]
        assert frames == [{"event": "match.update", "channel": "matches", "data": posted}]


@pytest.mark.parametrize("signer", ["node", "python"])
async def test_b14_private_subscription_signed_by_sdk_succeeds(
    driver: NodeDriver, pusherd_server: RunningServer, signer: str
) -> None:
    client = await driver.pusher("a", pusherd_server, signer=signer)
    socket_id = await client.connected()

    await client.subscribe("private-user.42")

    signed = await driver.wait_for(obs="auth_signed", client="a", channel="private-user.42")
    assert signed["signer"] == signer
    assert set(signed["result"]) == {"auth"}
    sent = [f for f in client.frames_out() if f["event"] == "pusher:subscribe"]
    assert sent == [
        {
            "event": "pusher:subscribe",
            "data": {"auth": signed["result"]["auth"], "channel": "private-user.42"},
        }
    ]
    assert socket_id


async def test_b14_private_events_reach_a_python_signed_subscriber(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    client = await driver.pusher("a", pusherd_server, signer="python")
    await client.connected()
    await client.subscribe("private-orders.5")
    since = driver.cursor

    result = await driver.sdk_trigger("private-orders.5", "order.shipped", {"order": 5})

    assert result["status"] == 200, result
    got = await client.event("private-orders.5", "order.shipped", since=since)
    assert got["data"] == {"order": 5}


async def test_g52_node_sdk_trigger_to_three_channels_reaches_each(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    channels = ["scores.a", "scores.b", "scores.c"]
    client = await driver.pusher("a", pusherd_server)
    await client.connected()
    for channel in channels:
        await client.subscribe(channel)
    since = driver.cursor
    data = {"id": 7, "home": 2, "away": 1, "tags": ["x", "y"], "nested": {"ok": True}}

    result = await driver.sdk_trigger(channels, "match.update", data)

    assert result["status"] == 200, result
    assert json.loads(result["body"]) == {}
    for channel in channels:
        got = await client.event(channel, "match.update", since=since)
        assert got["data"] == data
    frames = [f for f in client.frames_in(since=since) if f["event"] == "match.update"]
    assert sorted(f["channel"] for f in frames) == channels
    # The Node SDK JSON.stringify-s `data`; the server relays that string unchanged.
    assert {f["data"] for f in frames} == {json.dumps(data, separators=(",", ":"))}


async def test_g53_python_sdk_trigger_is_delivered_with_data_unchanged(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk
) -> None:
    client = await driver.pusher("a", pusherd_server)
    await client.connected()
    await client.subscribe("matches")
    since = driver.cursor
    data = {"id": 7, "score": [2, 1], "team": "Zürich", "path": "a/b"}

    response = await python_sdk.trigger("matches", "match.update", data)

    assert response == {}
    got = await client.event("matches", "match.update", since=since)
    assert got["data"] == data
    frames = [f for f in client.frames_in(since=since) if f["event"] == "match.update"]
    # The Python SDK sends json.dumps(data, ensure_ascii=False) (spaces, raw UTF-8); the frame
    # carries exactly that string.
    assert [f["data"] for f in frames] == [json.dumps(data, ensure_ascii=False)]


async def test_g53_python_sdk_string_data_that_is_not_json_arrives_unchanged(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk
) -> None:
    client = await driver.pusher("a", pusherd_server)
    await client.connected()
    await client.subscribe("matches")
    since = driver.cursor

    await python_sdk.trigger("matches", "note", "kick-off in 5'")

    got = await client.event("matches", "note", since=since)
    assert got["data"] == "kick-off in 5'"


async def test_b21_node_sdk_trigger_with_socket_id_skips_that_socket(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    sender = await driver.pusher("sender", pusherd_server)
    other = await driver.pusher("other", pusherd_server)
    sender_socket = await sender.connected()
    await other.connected()
    for client in (sender, other):
        await client.subscribe("matches")
    since = driver.cursor

    result = await driver.sdk_trigger(
        "matches", "match.update", {"n": 1}, params={"socket_id": sender_socket}
    )
    assert result["status"] == 200, result
    await driver.sdk_trigger("matches", "match.update", {"n": 2})

    await other.event("matches", "match.update", since=since, data={"n": 2})
    await sender.event("matches", "match.update", since=since, data={"n": 2})
    assert [e["data"] for e in sender.events("matches", "match.update", since=since)] == [{"n": 2}]
    assert [e["data"] for e in other.events("matches", "match.update", since=since)] == [
        {"n": 1},
        {"n": 2},
    ]


async def test_b19_after_unsubscribe_no_more_events_arrive(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    client = await driver.pusher("a", pusherd_server)
    await client.connected()
    await client.subscribe("matches")
    await client.subscribe("lobby")
    since = driver.cursor

    await client.unsubscribe("matches")
    await driver.sdk_trigger("matches", "match.update", {"n": 1})
    await driver.sdk_trigger("lobby", "barrier", {})

    await client.event("lobby", "barrier", since=since)
    # No reply to the unsubscribe and nothing from `matches`: only the barrier arrived.
    assert [f["event"] for f in client.frames_in(since=since)] == ["barrier"]
    assert client.frames_out(since=since) == [
        {"event": "pusher:unsubscribe", "data": {"channel": "matches"}}
    ]


async def test_k94_trigger_to_150_channels_in_two_calls_reaches_all(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk
) -> None:
    channels = [f"match.{n}" for n in range(150)]
    client = await driver.pusher("a", pusherd_server)
    await client.connected()
    since = driver.cursor
    for channel in channels:
        await driver.request("subscribe", client="a", channel=channel)
    for channel in channels:
        await client.event(channel, "pusher:subscription_succeeded", since=since)
    since = driver.cursor

    # What Laravel's PusherBroadcaster does: chunks of 100 channels per trigger.
    await python_sdk.trigger(channels[:100], "match.update", {"id": 1})
    await python_sdk.trigger(channels[100:], "match.update", {"id": 1})

    await driver.wait_until(
        lambda: len(driver.find(since=since, obs="channel_event", event="match.update")) >= 150,
        what="150 deliveries",
    )
    got = driver.find(since=since, obs="channel_event", event="match.update")
    assert sorted(o["channel"] for o in got) == sorted(channels)
