"""Presence channels through pusher-js (checklist §18 C23–C29; reference §2.5, §2.8, §6)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.clients import PusherJsClient
from tests.e2e.node_driver import NodeDriver
from tests.servers import RunningServer

pytestmark = pytest.mark.node

CHANNEL = "presence-match.7"
ADA: dict[str, Any] = {"user_id": "42", "user_info": {"id": 42, "name": "Ada"}}
LIN: dict[str, Any] = {"user_id": "43", "user_info": {"id": 43, "name": "Lin"}}


async def _joined(
    driver: NodeDriver,
    server: RunningServer,
    name: str,
    user: dict[str, Any],
    signer: str = "node",
) -> PusherJsClient:
    client = await driver.pusher(name, server, signer=signer, user=user)
    await client.connected()
    await client.subscribe(CHANNEL)
    return client


def _presence_frames(client: PusherJsClient, event: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        {**frame, "data": json.loads(frame["data"])}
        for frame in client.frames_in(since=since)
        if frame["event"] == event and frame.get("channel") == CHANNEL
    ]


async def test_c23_presence_subscribe_lists_the_subscriber_and_sets_me(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    await _joined(driver, pusherd_server, "lin", LIN)

    ada = await _joined(driver, pusherd_server, "ada", ADA, signer="python")

    [frame] = _presence_frames(ada, "pusher_internal:subscription_succeeded")
    presence = frame["data"]["presence"]
    assert sorted(presence["ids"]) == ["42", "43"]
    assert presence["hash"] == {"42": ADA["user_info"], "43": LIN["user_info"]}
    assert presence["count"] == 2
    members = await ada.members(CHANNEL)
    assert members["count"] == 2
    assert members["me"] == {"id": "42", "info": ADA["user_info"]}


async def test_c24_second_user_joining_sends_exactly_one_member_added(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await _joined(driver, pusherd_server, "ada", ADA)
    since = driver.cursor

    lin = await _joined(driver, pusherd_server, "lin", LIN)
    await ada.event(CHANNEL, "pusher:member_added", since=since)
    # Barrier: an event published after the join reaches Ada after any member_added frame.
    await driver.sdk_trigger(CHANNEL, "barrier", {})
    await ada.event(CHANNEL, "barrier", since=since)

    added = _presence_frames(ada, "pusher_internal:member_added", since)
    assert [frame["data"] for frame in added] == [LIN]
    assert not _presence_frames(lin, "pusher_internal:member_added")
    assert (await ada.members(CHANNEL))["count"] == 2


async def test_c25_same_user_second_socket_adds_no_member(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await _joined(driver, pusherd_server, "ada", ADA)
    lin = await _joined(driver, pusherd_server, "lin", LIN)
    await ada.event(CHANNEL, "pusher:member_added")  # Lin's first socket
    since = driver.cursor

    lin_again = await _joined(driver, pusherd_server, "lin-2", LIN)
    await driver.sdk_trigger(CHANNEL, "barrier", {})
    for client in (ada, lin, lin_again):
        await client.event(CHANNEL, "barrier", since=since)

    assert not driver.find(since=since, obs="channel_event", event="pusher:member_added")
    assert (await ada.members(CHANNEL))["count"] == 2
    assert (await lin_again.members(CHANNEL))["count"] == 2
    [frame] = _presence_frames(lin_again, "pusher_internal:subscription_succeeded")
    assert frame["data"]["presence"]["count"] == 2


async def test_c26_member_removed_only_when_the_last_socket_closes(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await _joined(driver, pusherd_server, "ada", ADA)
    lin = await _joined(driver, pusherd_server, "lin", LIN)
    lin_again = await _joined(driver, pusherd_server, "lin-2", LIN)
    since = driver.cursor

    await lin.disconnect()
    await driver.wait_for(since=since, obs="closed", client="lin")
    await driver.sdk_trigger(CHANNEL, "barrier-1", {})
    await ada.event(CHANNEL, "barrier-1", since=since)
    assert not _presence_frames(ada, "pusher_internal:member_removed", since)

    await lin_again.disconnect()
    removed = await ada.event(CHANNEL, "pusher:member_removed", since=since)
    await driver.sdk_trigger(CHANNEL, "barrier-2", {})
    await ada.event(CHANNEL, "barrier-2", since=since)

    assert removed["data"] == {"id": "43", "info": LIN["user_info"]}
    frames = _presence_frames(ada, "pusher_internal:member_removed", since)
    assert [frame["data"] for frame in frames] == [{"user_id": "43"}]
    assert (await ada.members(CHANNEL))["count"] == 1


async def test_c27_unsubscribing_the_last_socket_removes_the_member(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await _joined(driver, pusherd_server, "ada", ADA)
    lin = await _joined(driver, pusherd_server, "lin", LIN)
    await lin.subscribe("lobby")
    since = driver.cursor

    await lin.unsubscribe(CHANNEL)

    await ada.event(CHANNEL, "pusher:member_removed", since=since)
    frames = _presence_frames(ada, "pusher_internal:member_removed", since)
    assert [frame["data"] for frame in frames] == [{"user_id": "43"}]
    # Unsubscribing gets no reply frame (reference §2.7; B19) and Lin's socket stays up: the
    # next thing Lin receives is an event published afterwards on another channel.
    await driver.sdk_trigger("lobby", "barrier", {})
    await lin.event("lobby", "barrier", since=since)
    assert [f["event"] for f in lin.frames_in(since=since)] == ["barrier"]
    assert (await lin.state())["state"] == "connected"


async def test_c28_numeric_and_string_user_id_are_one_member(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    # The Node SDK signs channel_data as given: {"user_id":10,...} and {"user_id":"10",...}.
    numeric = {"user_id": 10, "user_info": {"name": "Ten"}}
    string = {"user_id": "10", "user_info": {"name": "Ten"}}
    ada = await _joined(driver, pusherd_server, "ada", ADA)
    first = await _joined(driver, pusherd_server, "ten", numeric)
    await ada.event(CHANNEL, "pusher:member_added")
    since = driver.cursor

    second = await _joined(driver, pusherd_server, "ten-2", string)
    await driver.sdk_trigger(CHANNEL, "barrier", {})
    for client in (ada, first, second):
        await client.event(CHANNEL, "barrier", since=since)

    assert not driver.find(since=since, obs="channel_event", event="pusher:member_added")
    [added] = _presence_frames(ada, "pusher_internal:member_added")
    assert added["data"]["user_id"] == "10"
    [joined] = _presence_frames(second, "pusher_internal:subscription_succeeded")
    assert sorted(joined["data"]["presence"]["ids"]) == ["10", "42"]
    assert joined["data"]["presence"]["count"] == 2


async def test_c29_python_sdk_channel_data_spacing_verifies(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await _joined(driver, pusherd_server, "ada", ADA, signer="python")

    [sent] = [f for f in ada.frames_out() if f["event"] == "pusher:subscribe"]
    # json.dumps spacing, exactly as the Python SDK signed it (reference §5.2).
    assert sent["data"]["channel_data"] == json.dumps(ADA)
    assert (await ada.members(CHANNEL))["me"] == {"id": "42", "info": ADA["user_info"]}
