"""Cache channels through pusher-js and both SDKs (checklist §18 I76–I80 and the oversized cache
event; reference §2.14, §9.5, §11)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pusher.errors
import pytest

from tests.conftest import StartPusherd
from tests.e2e.clients import PusherJsClient
from tests.e2e.conftest import OpenDriver
from tests.e2e.node_driver import TIME_UNIT_S, NodeDriver
from tests.e2e.python_sdk import PythonSdk
from tests.servers import RunningServer

pytestmark = pytest.mark.node

SCORE: dict[str, Any] = {"home": 2, "away": 1}
SCORE_DATA = '{"home":2,"away":1}'  # what the Node SDK posts for SCORE
PLAYER: dict[str, Any] = {"user_id": "42", "user_info": {"name": "Ada"}}


async def _client(driver: NodeDriver, server: RunningServer, name: str) -> PusherJsClient:
    client = await driver.pusher(name, server, signer="node", user=PLAYER)
    await client.connected()
    return client


def _channel_frames(client: PusherJsClient, channel: str, since: int = 0) -> list[dict[str, Any]]:
    return [f for f in client.frames_in(since=since) if f.get("channel") == channel]


@pytest.mark.parametrize("channel", ["cache-x", "private-cache-x", "presence-cache-x"])
async def test_i76_a_new_subscriber_gets_the_last_event_right_after_subscribing(
    driver: NodeDriver, pusherd_server: RunningServer, channel: str
) -> None:
    await driver.sdk_trigger(channel, "score.changed", {"home": 1, "away": 1})
    await driver.sdk_trigger(channel, "score.changed", SCORE)
    fan = await _client(driver, pusherd_server, "fan")
    since = driver.cursor

    await fan.subscribe(channel, bind=("pusher:cache_miss",))

    replayed = await fan.event(channel, "score.changed", since=since)
    assert replayed["data"] == SCORE
    # A barrier published afterwards: nothing else (no cache_miss) came in between.
    await driver.sdk_trigger(channel, "barrier", {})
    await fan.event(channel, "barrier", since=since)
    frames = _channel_frames(fan, channel, since)
    assert [f["event"] for f in frames] == [
        "pusher_internal:subscription_succeeded",
        "score.changed",
        "barrier",
    ]
    assert frames[1] == {"event": "score.changed", "channel": channel, "data": SCORE_DATA}
    assert not driver.find(obs="bound", client="fan")


async def test_i76_an_event_excluding_a_socket_is_still_cached(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    sender = await _client(driver, pusherd_server, "sender")
    await sender.subscribe("cache-x")
    socket_id = (await sender.state())["socket_id"]
    since = driver.cursor

    await driver.sdk_trigger("cache-x", "score.changed", SCORE, {"socket_id": socket_id})

    fan = await _client(driver, pusherd_server, "fan")
    await fan.subscribe("cache-x")
    replayed = await fan.event("cache-x", "score.changed", since=since)
    assert replayed["data"] == SCORE
    assert not sender.frames_named("score.changed")  # the exclusion still held (§11)


async def test_i77_an_empty_cache_channel_sends_cache_miss_to_the_binding(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    fan = await _client(driver, pusherd_server, "fan")

    await fan.subscribe("cache-x", bind=("pusher:cache_miss",))

    bound = await driver.wait_for(obs="bound", client="fan", event="pusher:cache_miss")
    assert bound["channel"] == "cache-x"
    frames = _channel_frames(fan, "cache-x")
    assert frames == [
        {"event": "pusher_internal:subscription_succeeded", "channel": "cache-x", "data": "{}"},
        {"event": "pusher:cache_miss", "channel": "cache-x"},
    ]


async def test_i78_i79_a_cached_event_expires_after_the_ttl(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    server = await start_pusherd(cache_ttl_s=1)
    driver = await open_driver(server)
    with PythonSdk.open(server) as sdk:
        await driver.sdk_trigger("cache-x", "score.changed", SCORE)
        info = await sdk.channel_info("cache-x", ["cache"])
        assert info["cache"]["data"] == SCORE_DATA
        assert 0 <= info["cache"]["ttl"] <= 1
        early = await _client(driver, server, "early")
        await early.subscribe("cache-x")
        await early.event("cache-x", "score.changed")

        # The one unavoidable wait: past the 1 s TTL (reference §11).
        await asyncio.sleep(1.5 * TIME_UNIT_S)

        late = await _client(driver, server, "late")
        await late.subscribe("cache-x", bind=("pusher:cache_miss",))
        await driver.wait_for(obs="bound", client="late", event="pusher:cache_miss")
        assert [f["event"] for f in _channel_frames(late, "cache-x")] == [
            "pusher_internal:subscription_succeeded",
            "pusher:cache_miss",
        ]
        assert (await sdk.channel_info("cache-x", ["cache"]))["cache"] is None


async def test_i79_channel_info_cache_through_the_python_sdk(python_sdk: PythonSdk) -> None:
    assert await python_sdk.channel_info("cache-x", ["cache"]) == {
        "occupied": False,
        "cache": None,
    }

    await python_sdk.trigger("cache-x", "score.changed", SCORE)

    info = await python_sdk.channel_info("cache-x", ["cache"])
    # The Python SDK posts json.dumps spacing; the cached data is that string, unchanged.
    assert info["cache"]["data"] == json.dumps(SCORE)
    assert 1790 <= info["cache"]["ttl"] <= 1800
    assert info["occupied"] is False
    with pytest.raises(pusher.errors.PusherBadRequest):
        await python_sdk.channel_info("lobby", ["cache"])


async def test_i80_client_events_on_private_cache_are_relayed_but_never_replayed(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk
) -> None:
    channel = "private-cache-x"
    ada = await _client(driver, pusherd_server, "ada")
    lin = await _client(driver, pusherd_server, "lin")
    await ada.subscribe(channel)
    await lin.subscribe(channel)
    since = driver.cursor

    assert await ada.trigger(channel, "client-move", {"x": 1})

    relayed = await lin.event(channel, "client-move", since=since)
    assert relayed["data"] == {"x": 1}
    late = await _client(driver, pusherd_server, "late")
    await late.subscribe(channel, bind=("pusher:cache_miss",))
    await driver.wait_for(obs="bound", client="late", event="pusher:cache_miss")
    assert not late.frames_named("client-move")
    assert (await python_sdk.channel_info(channel, ["cache"]))["cache"] is None


async def test_cache_event_larger_than_the_cache_limit_is_413(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    server = await start_pusherd(max_cache_event_bytes=1_000)
    driver = await open_driver(server)

    too_big = await driver.sdk_trigger("cache-x", "blob", "x" * 1_001)
    at_limit = await driver.sdk_trigger("cache-x", "blob", "x" * 1_000)
    not_cached = await driver.sdk_trigger("lobby", "blob", "x" * 1_001)

    assert too_big["status"] == 413
    assert at_limit["status"] == 200
    assert not_cached["status"] == 200  # the limit is the cache's, not every channel's


async def test_cache_event_larger_than_the_message_limit_is_413(driver: NodeDriver) -> None:
    too_big = await driver.sdk_trigger("cache-x", "blob", "x" * 10_241)

    assert too_big["status"] == 413
    assert (await driver.sdk_trigger("cache-x", "blob", "x" * 10_240))["status"] == 200
