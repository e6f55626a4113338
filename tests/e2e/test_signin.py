"""User authentication through pusher-js: ``pusher.signin()``, the ``#server-to-user-`` channel,
server-to-user events and presence through signin (checklist §18 C33, H67–H71, K99; reference
§2.11, §2.12, §5.4, §6.5, §13.1, §13.2)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from tests.conftest import StartPusherd
from tests.e2e.clients import PusherJsClient
from tests.e2e.conftest import OpenDriver
from tests.e2e.node_driver import NodeDriver
from tests.servers import RunningServer

pytestmark = pytest.mark.node

ADA: dict[str, Any] = {"id": "42", "user_info": {"name": "Ada"}}
LIN: dict[str, Any] = {"id": "43", "user_info": {"name": "Lin"}}
USER_CHANNEL = "#server-to-user-42"


def user_auth(server: RunningServer, socket_id: str, user_data: str) -> str:
    """``<key>:<HMAC of socket_id::user::user_data>`` over the exact bytes given (§5.4), for
    user_data strings that no SDK helper would sign."""
    string_to_sign = f"{socket_id}::user::{user_data}"
    digest = hmac.new(server.secret.encode(), string_to_sign.encode(), hashlib.sha256)
    return f"{server.key}:{digest.hexdigest()}"


async def signed_in(
    driver: NodeDriver,
    server: RunningServer,
    name: str,
    user_data: dict[str, Any],
    *,
    user_signer: str = "node",
) -> PusherJsClient:
    """A pusher-js client that called ``signin()`` and holds its ``#server-to-user-`` channel."""
    client = await driver.pusher(name, server, user_signer=user_signer, user_data=user_data)
    await client.connected()
    await client.signin()
    await client.frame(
        "pusher_internal:subscription_succeeded",
        channel=f"#server-to-user-{user_data['id']}",
    )
    return client


@pytest.mark.parametrize("user_signer", ["node", "python"])
async def test_h67_h69_signin_succeeds_with_each_sdk_and_subscribes_the_user_channel(
    driver: NodeDriver, pusherd_server: RunningServer, user_signer: str
) -> None:
    ada = await signed_in(driver, pusherd_server, "ada", ADA, user_signer=user_signer)

    [signed] = driver.find(obs="user_auth_signed", client="ada")
    user_data = signed["result"]["user_data"]
    if user_signer == "python":
        assert user_data == json.dumps(ADA)  # json.dumps spacing, signed as-is
    [sent] = [f for f in ada.frames_out() if f["event"] == "pusher:signin"]
    assert sent["data"] == signed["result"]
    [success] = ada.frames_named("pusher:signin_success")
    assert success["data"] == {"user_data": user_data}  # byte-identical string (H67)
    # H69: pusher-js subscribes #server-to-user-42 itself, with an empty auth.
    subscribes = [f for f in ada.frames_out() if f["event"] == "pusher:subscribe"]
    assert [f["data"] for f in subscribes] == [{"auth": "", "channel": USER_CHANNEL}]
    state = await ada.user_state()
    assert state["user_data"] == ADA
    assert state["server_to_user"] == {"name": USER_CHANNEL, "subscribed": True, "pending": False}


async def test_h68_bad_signature_gets_error_4009_and_the_socket_stays_open(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await driver.pusher("ada", pusherd_server, user_signer="node-wrong-secret", user_data=ADA)
    socket_id = await ada.connected()

    await ada.signin()

    error = await ada.frame("pusher:error")
    assert error["data"]["code"] == 4009
    assert isinstance(error["data"]["message"], str)
    # pusher-js reports it as a connection error and nothing else happens (§2.2).
    await driver.wait_for(
        lambda obs: obs["error"].get("data", {}).get("code") == 4009,
        obs="conn_error",
        client="ada",
    )
    await ada.subscribe("lobby")  # the same socket still works
    assert not ada.frames_named("pusher:signin_success")
    assert not driver.find(obs="closed", client="ada")
    assert await ada.state() == {"state": "connected", "socket_id": socket_id}
    assert (await ada.user_state())["user_data"] is None


async def test_bad_user_data_is_refused_with_4009_and_a_good_signin_still_works(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    """Bad inputs with a valid signature: user_data not JSON, not an object, without ``id``,
    with an empty ``id`` (§13.1 step 3). Raw frames: no SDK signs such user_data, and pusher-js
    only sends a signin its authenticator answered."""
    raw = await driver.pusher("raw", pusherd_server, user_signer="node", user_data=ADA)
    socket_id = await raw.connected()
    bad = ["not json", '["42"]', '{"user_info":{"name":"Ada"}}', '{"id":""}']

    for user_data in bad:
        since = driver.cursor
        auth = user_auth(pusherd_server, socket_id, user_data)
        await raw.send_raw(
            {"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}}
        )
        await raw.frame("pusher:error", since=since)

    errors = raw.frames_named("pusher:error")
    assert [error["data"]["code"] for error in errors] == [4009] * len(bad)
    # The same socket then signs in through pusher-js and the Node SDK.
    await raw.signin()
    await raw.frame("pusher_internal:subscription_succeeded", channel=USER_CHANNEL)
    assert len(raw.frames_named("pusher:signin_success")) == 1
    assert (await raw.user_state())["user_data"] == ADA
    assert not driver.find(obs="closed", client="raw")


async def test_h70_send_to_user_reaches_every_socket_of_the_user_and_no_other(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await signed_in(driver, pusherd_server, "ada", ADA)
    ada_again = await signed_in(driver, pusherd_server, "ada-2", ADA, user_signer="python")
    lin = await signed_in(driver, pusherd_server, "lin", LIN)
    anonymous = await driver.pusher("anonymous", pusherd_server)
    await anonymous.connected()
    await anonymous.subscribe("lobby")
    for client in (ada, ada_again, lin):
        await client.user_bind("order.shipped")
        await client.user_bind("barrier")
    since = driver.cursor

    result = await driver.sdk_send_to_user("42", "order.shipped", {"order": 5})

    assert result["status"] == 200
    for client in (ada, ada_again):
        obs = await driver.wait_for(
            since=since, obs="user_event", client=client.name, event="order.shipped"
        )
        assert obs["data"] == {"order": 5}
        [frame] = client.frames_named("order.shipped", since=since)
        assert frame == {"event": "order.shipped", "channel": USER_CHANNEL, "data": '{"order":5}'}
    # Barriers published after the event: anything for Lin or the anonymous socket came first.
    await driver.sdk_send_to_user("43", "barrier", {})
    await driver.wait_for(since=since, obs="user_event", client="lin", event="barrier")
    await driver.sdk_trigger("lobby", "barrier", {})
    await anonymous.event("lobby", "barrier", since=since)
    for client in (lin, anonymous):
        assert not client.frames_named("order.shipped")
    assert len(driver.find(since=since, obs="user_event", event="order.shipped")) == 2


async def test_h71_signing_in_as_another_user_on_a_signed_in_socket_fails(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    ada = await signed_in(driver, pusherd_server, "ada", ADA)
    await ada.user_bind("note")
    socket_id = (await ada.state())["socket_id"]
    since = driver.cursor

    other = json.dumps(LIN)
    auth = user_auth(pusherd_server, socket_id, other)
    await ada.send_raw({"event": "pusher:signin", "data": {"auth": auth, "user_data": other}})

    error = await ada.frame("pusher:error", since=since)
    assert error["data"]["code"] == 4009
    assert not ada.frames_named("pusher:signin_success", since=since)
    # Still user 42 only: a note to 43 does not arrive, a note to 42 does (and comes after).
    await driver.sdk_send_to_user("43", "note", {"to": "43"})
    await driver.sdk_send_to_user("42", "note", {"to": "42"})
    obs = await driver.wait_for(since=since, obs="user_event", client="ada", event="note")
    assert obs["data"] == {"to": "42"}
    assert [f["data"] for f in ada.frames_named("note", since=since)] == ['{"to":"42"}']
    assert (await ada.user_state())["user_data"] == ADA


async def test_c33_presence_without_channel_data_uses_the_signed_in_user(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    # No `user` for the channel signer: the Node SDK signs socket_id:channel only (§6.5).
    ada = await driver.pusher(
        "ada", pusherd_server, signer="node", user_signer="node", user_data=ADA
    )
    await ada.connected()
    await ada.signin()
    await ada.subscribe("presence-room")
    lin = await driver.pusher(
        "lin", pusherd_server, signer="node", user_signer="node", user_data=LIN
    )
    await lin.connected()
    await lin.signin()
    since = driver.cursor
    await lin.subscribe("presence-room")

    [sent] = [f for f in lin.frames_out() if f["data"].get("channel") == "presence-room"]
    assert "channel_data" not in sent["data"]
    added = await ada.event("presence-room", "pusher:member_added", since=since)
    assert added["data"] == {"id": "43", "info": LIN["user_info"]}
    members = await lin.members("presence-room")
    assert members["me"] == {"id": "43", "info": LIN["user_info"]}
    assert members["count"] == 2


async def test_c33_presence_without_channel_data_is_refused_when_not_signed_in(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    raw = await driver.pusher("raw", pusherd_server)
    socket_id = await raw.connected()
    channel = "presence-room"
    digest = hmac.new(
        pusherd_server.secret.encode(), f"{socket_id}:{channel}".encode(), hashlib.sha256
    )
    auth = f"{pusherd_server.key}:{digest.hexdigest()}"

    await raw.send_raw({"event": "pusher:subscribe", "data": {"auth": auth, "channel": channel}})

    error = await raw.frame("pusher:subscription_error", channel=channel)
    assert error["data"]["status"] == 403
    assert not raw.frames_named("pusher_internal:subscription_succeeded")
    assert not driver.find(obs="closed", client="raw")


@pytest.mark.parametrize("broadcaster", ["reverb", "pusher"])
async def test_k99_echo_connector_signin_with_a_string_id(
    driver: NodeDriver, pusherd_server: RunningServer, broadcaster: str
) -> None:
    # Laravel's /broadcasting/user-auth answer, with the id cast to a string as the docs ask.
    echo = await driver.echo(
        "echo", pusherd_server, broadcaster=broadcaster, user_signer="node", user_data=ADA
    )
    await echo.connected()

    await echo.signin()

    await echo.frame("pusher_internal:subscription_succeeded", channel=USER_CHANNEL)
    [success] = echo.frames_named("pusher:signin_success")
    assert json.loads(success["data"]["user_data"]) == ADA
    assert (await echo.user_state())["user_data"] == ADA


async def test_k99_an_integer_id_is_accepted_by_pusherd_but_refused_by_pusher_js(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    """What a Laravel app that forgets the string cast gets (§13.1 step 3): pusherd answers
    ``signin_success`` (it accepts an integer id), pusher-js then logs an error, stays signed
    out and never subscribes ``#server-to-user-42``. Both SDK helpers refuse such an id."""
    echo = await driver.echo("echo", pusherd_server, user_signer="app", user_data='{"id":42}')
    await echo.connected()

    await echo.signin()

    success = await echo.frame("pusher:signin_success")
    assert success["data"]["user_data"] == '{"id":42}'
    assert (await echo.user_state()) == {"user_data": None, "server_to_user": None}
    assert not [f for f in echo.frames_out() if f["event"] == "pusher:subscribe"]


async def test_signin_grace_period_closes_unsigned_sockets_with_4009_only(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    """An app that requires signin (§13.5, issue item 1): a pusher-js socket that never signs
    in is closed with 4009 after the grace period and stays disconnected; a signed-in one stays.
    """
    server = await start_pusherd(user_authentication_timeout_s=1)
    driver = await open_driver(server)
    ada = await signed_in(driver, server, "ada", ADA)
    idle = await driver.pusher("idle", server)
    await idle.connected()

    closed = await driver.wait_for(obs="closed", client="idle", timeout_units=5)

    assert closed["code"] == 4009
    assert (await idle.frame("pusher:error"))["data"]["code"] == 4009
    await driver.wait_for(obs="state", client="idle", current="disconnected")
    await ada.subscribe("lobby")
    assert (await ada.state())["state"] == "connected"
    assert not driver.find(obs="closed", client="ada")
