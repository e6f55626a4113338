"""Laravel Echo 2 (broadcasters ``reverb`` and ``pusher``) against the server
(checklist §18 B15, C24, C26, C32, D42, K91–K93; reference §2.6, §6.6, §14)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.clients import EchoClient
from tests.e2e.node_driver import NodeDriver
from tests.e2e.python_sdk import PythonSdk
from tests.servers import RunningServer

pytestmark = pytest.mark.node

BROADCASTERS = ["reverb", "pusher"]
ADA: dict[str, Any] = {"user_id": "42", "user_info": {"id": 42, "name": "Ada"}}
LIN: dict[str, Any] = {"user_id": "43", "user_info": {"id": 43, "name": "Lin"}}


async def _echo(
    driver: NodeDriver,
    server: RunningServer,
    name: str,
    broadcaster: str,
    *,
    signer: str = "node",
    user: dict[str, Any] | None = None,
) -> EchoClient:
    echo = await driver.echo(name, server, broadcaster=broadcaster, signer=signer, user=user)
    await echo.connected()
    return echo


@pytest.mark.parametrize("broadcaster", BROADCASTERS)
async def test_b15_wrong_signature_fires_echo_error_and_keeps_the_socket(
    driver: NodeDriver, pusherd_server: RunningServer, broadcaster: str
) -> None:
    echo = await _echo(driver, pusherd_server, "a", broadcaster, signer="node-wrong-secret")
    socket_id = await echo.socket_id()

    await echo.on("private", "user.42", "error")

    call = await echo.call("error")
    [error] = call["args"]
    assert error["type"] == "AuthError"
    assert error["status"] == 401
    frames = [f for f in echo.frames_in() if f["event"] == "pusher:subscription_error"]
    assert [f["channel"] for f in frames] == ["private-user.42"]
    assert frames[0]["data"]["type"] == "AuthError"
    assert frames[0]["data"]["status"] == 401
    # The socket stays open and usable.
    await echo.subscribe("matches")
    assert await echo.state() == {"state": "connected", "socket_id": socket_id}
    assert not driver.find(obs="closed", client="a")


@pytest.mark.parametrize("broadcaster", BROADCASTERS)
async def test_c32_echo_here_lists_user_info_and_joining_leaving_run_once(
    driver: NodeDriver, pusherd_server: RunningServer, broadcaster: str
) -> None:
    ada = await _echo(driver, pusherd_server, "ada", broadcaster, user=ADA)
    await ada.on("join", "match.7", "here")
    await ada.on("join", "match.7", "joining")
    await ada.on("join", "match.7", "leaving")
    first = await ada.call("here")
    assert first["args"] == [[ADA["user_info"]]]

    lin = await _echo(driver, pusherd_server, "lin", broadcaster, signer="python", user=LIN)
    await lin.on("join", "match.7", "here")
    here = await lin.call("here")
    joining = await ada.call("joining")

    [members] = here["args"]
    assert sorted(members, key=lambda info: info["id"]) == [ADA["user_info"], LIN["user_info"]]
    assert joining["args"] == [LIN["user_info"]]

    since = driver.cursor
    await lin.disconnect()
    leaving = await ada.call("leaving", since=since)
    assert leaving["args"] == [LIN["user_info"]]
    await driver.sdk_trigger("presence-match.7", "barrier", {})
    await ada.event("presence-match.7", "barrier", since=since)
    assert len(ada.calls("joining")) == 1
    assert len(ada.calls("leaving")) == 1


@pytest.mark.parametrize("broadcaster", BROADCASTERS)
async def test_d42_echo_whisper_reaches_listen_for_whisper(
    driver: NodeDriver, pusherd_server: RunningServer, broadcaster: str
) -> None:
    ada = await _echo(driver, pusherd_server, "ada", broadcaster)
    lin = await _echo(driver, pusherd_server, "lin", broadcaster, signer="python")
    await ada.on("private", "chat.1", "listenForWhisper", "typing")
    await lin.on("private", "chat.1", "listenForWhisper", "typing")
    await ada.event("private-chat.1", "pusher:subscription_succeeded")
    await lin.event("private-chat.1", "pusher:subscription_succeeded")
    since = driver.cursor

    await ada.whisper("private", "chat.1", "typing", {"name": "Ada", "typing": True})

    call = await lin.call("listenForWhisper", event="typing", since=since)
    assert call["args"][0] == {"name": "Ada", "typing": True}
    await driver.sdk_trigger("private-chat.1", "barrier", {})
    await ada.event("private-chat.1", "barrier", since=since)
    assert not ada.calls("listenForWhisper", event="typing")


@pytest.mark.parametrize("broadcaster", BROADCASTERS)
async def test_d42_echo_whisper_on_presence_channel(
    driver: NodeDriver, pusherd_server: RunningServer, broadcaster: str
) -> None:
    ada = await _echo(driver, pusherd_server, "ada", broadcaster, user=ADA)
    lin = await _echo(driver, pusherd_server, "lin", broadcaster, user=LIN)
    await ada.on("join", "room.1", "here")
    await lin.on("join", "room.1", "listenForWhisper", "typing")
    await ada.call("here")
    await lin.event("presence-room.1", "pusher:subscription_succeeded")
    since = driver.cursor

    await ada.whisper("join", "room.1", "typing", {"typing": True})

    call = await lin.call("listenForWhisper", event="typing", since=since)
    assert call["args"][0] == {"typing": True}
    got = await lin.event("presence-room.1", "client-typing", since=since)
    assert got["metadata"] == {"user_id": "42"}


@pytest.mark.parametrize("broadcaster", BROADCASTERS)
async def test_k91_k92_echo_event_name_mapping(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk, broadcaster: str
) -> None:
    echo = await _echo(driver, pusherd_server, "a", broadcaster)
    await echo.on("channel", "matches", "listen", ".match.update")
    await echo.on("channel", "matches", "listen", "MatchUpdate")
    await echo.event("matches", "pusher:subscription_succeeded")
    since = driver.cursor

    # broadcastAs('match.update'), then an event without broadcastAs (its class name).
    await python_sdk.trigger("matches", "match.update", {"id": 7, "home": 2})
    await python_sdk.trigger("matches", "App\\Events\\MatchUpdate", {"id": 8})

    by_class = await echo.call("listen", event="MatchUpdate", since=since)
    assert by_class["args"][0] == {"id": 8}
    as_named = echo.calls("listen", event=".match.update", since=since)
    assert [call["args"][0] for call in as_named] == [{"id": 7, "home": 2}]
    assert len(echo.calls("listen", event="MatchUpdate", since=since)) == 1


@pytest.mark.parametrize("broadcaster", BROADCASTERS)
async def test_k93_trigger_with_echo_socket_id_skips_that_socket(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk, broadcaster: str
) -> None:
    sender = await _echo(driver, pusherd_server, "sender", broadcaster)
    other = await _echo(driver, pusherd_server, "other", broadcaster)
    for echo in (sender, other):
        await echo.on("channel", "matches", "listen", ".match.update")
        await echo.event("matches", "pusher:subscription_succeeded")
    sender_socket = await sender.socket_id()
    assert sender_socket is not None
    since = driver.cursor

    # What Laravel does with Echo's X-Socket-Id header on broadcast(...)->toOthers().
    await python_sdk.trigger("matches", "match.update", {"n": 1}, socket_id=sender_socket)
    await python_sdk.trigger("matches", "match.update", {"n": 2})

    await other.call("listen", event=".match.update", since=since)
    second = await sender.call("listen", event=".match.update", since=since)
    assert second["args"][0] == {"n": 2}
    assert [c["args"][0] for c in sender.calls("listen", event=".match.update", since=since)] == [
        {"n": 2}
    ]
    await driver.wait_for(
        lambda o: o["args"][0] == {"n": 2},
        since=since,
        obs="echo",
        client="other",
        method="listen",
    )
    assert [c["args"][0] for c in other.calls("listen", event=".match.update", since=since)] == [
        {"n": 1},
        {"n": 2},
    ]
