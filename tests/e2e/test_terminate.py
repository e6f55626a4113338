"""Terminating a user's connections with the Node and Python SDKs (checklist §18 H74, H75;
reference §9.7, §13.4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.clients import PusherJsClient
from tests.e2e.node_driver import NodeDriver
from tests.e2e.python_sdk import PythonSdk
from tests.servers import RunningServer

pytestmark = pytest.mark.node

ADA: dict[str, Any] = {"id": "42", "user_info": {"name": "Ada"}}
LIN: dict[str, Any] = {"id": "43", "user_info": {"name": "Lin"}}


async def _signed_in(
    driver: NodeDriver, server: RunningServer, name: str, user_data: dict[str, Any]
) -> PusherJsClient:
    client = await driver.pusher(name, server, user_signer="node", user_data=user_data)
    await client.connected()
    await client.signin()
    await client.frame(
        "pusher_internal:subscription_succeeded", channel=f"#server-to-user-{user_data['id']}"
    )
    await client.subscribe("lobby")
    return client


async def _assert_terminated(driver: NodeDriver, client: PusherJsClient) -> None:
    """``pusher:error`` 4009, close 4009, state ``disconnected`` (§13.4)."""
    closed = await driver.wait_for(obs="closed", client=client.name)
    assert closed["code"] == 4009
    error = await client.frame("pusher:error")
    assert error["data"]["code"] == 4009
    await driver.wait_for(obs="state", client=client.name, current="disconnected")


async def test_h74_terminate_closes_every_socket_of_the_user_with_4009_only(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await _signed_in(driver, pusherd_server, "ada", ADA)
    ada_again = await _signed_in(driver, pusherd_server, "ada-2", ADA)
    lin = await _signed_in(driver, pusherd_server, "lin", LIN)
    # A presence member with user_id 42 that never signed in is not "signed in as 42" (§9.7).
    member = await driver.pusher(
        "member", pusherd_server, signer="node", user={"user_id": "42", "user_info": {}}
    )
    await member.connected()
    await member.subscribe("presence-room")
    await member.subscribe("lobby")
    # A watcher of 42: terminating runs the normal cleanup, so 42 goes offline (§13.4).
    watcher = await driver.pusher(
        "watcher", pusherd_server, user_signer="node", user_data={"id": "50", "watchlist": ["42"]}
    )
    await watcher.connected()
    await watcher.watchlist_bind("offline")
    await watcher.signin()
    status = await watcher.frame("pusher_internal:watchlist_events")
    assert status["data"] == {"events": [{"name": "online", "user_ids": ["42"]}]}
    since = driver.cursor

    result = await driver.sdk_terminate("42")

    assert result["status"] == 200
    assert result["body"] == "{}"
    for client in (ada, ada_again):
        await _assert_terminated(driver, client)
    await driver.sdk_trigger("lobby", "after", {})
    for client in (lin, member):
        await client.event("lobby", "after", since=since)
        assert (await client.state())["state"] == "connected"
    # pusher-js treats 4009 as "refused": no reconnect attempt follows (§3.1).
    await driver.assert_quiet(
        lambda obs: obs["client"] in ("ada", "ada-2") and obs["current"] == "connecting",
        since=since,
        for_units=1.5,
        obs="state",
    )
    assert not driver.find(since=since, obs="closed", client="lin")
    assert not driver.find(since=since, obs="closed", client="member")
    offline = await driver.wait_for(since=since, obs="watchlist_event", client="watcher")
    assert offline["data"] == {"name": "offline", "user_ids": ["42"]}


async def test_h75_python_sdk_terminate_user_connections(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk
) -> None:
    ada = await _signed_in(driver, pusherd_server, "ada", ADA)
    lin = await _signed_in(driver, pusherd_server, "lin", LIN)
    since = driver.cursor

    # Posts to /users/42/terminate_connections (no /apps/{id} prefix, §9.7).
    result = await python_sdk.terminate_user_connections("42")

    assert result == {}
    await _assert_terminated(driver, ada)
    await driver.sdk_trigger("lobby", "after", {})
    await lin.event("lobby", "after", since=since)
    assert not driver.find(since=since, obs="closed", client="lin")
