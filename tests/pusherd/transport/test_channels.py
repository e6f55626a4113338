"""Subscribing, channel auth and delivery over the WebSocket (reference §2.4–§2.9, §4.1, §5;
checklist B12–B22)."""

from __future__ import annotations

import json

import pytest

from tests.pusherd.http.api import assert_json_success, python_sdk, trigger
from tests.pusherd.transport.wsclient import open_socket, private_auth, sign
from tests.servers import RunningServer


def _assert_subscription_error(
    frame: dict[str, object], channel: str, error_type: str, status: int
) -> None:
    """``pusher:subscription_error`` with ``channel`` and ``{type, error, status}`` (§2.6)."""
    assert frame["event"] == "pusher:subscription_error", frame
    assert frame["channel"] == channel, frame
    data = frame["data"]
    assert isinstance(data, dict), frame
    assert data["type"] == error_type, frame
    assert data["status"] == status, frame
    assert isinstance(data["error"], str) and data["error"], frame


async def test_public_subscribe_yields_succeeded_with_empty_object_string(
    pusherd_server: RunningServer,
) -> None:
    """B12: ``auth:""`` on a public channel → exactly
    ``{"event":"pusher_internal:subscription_succeeded","channel":…,"data":"{}"}``."""
    async with open_socket(pusherd_server) as client:
        frame = await client.subscribe("matches")
        assert frame == {
            "event": "pusher_internal:subscription_succeeded",
            "channel": "matches",
            "data": "{}",
        }


async def test_resubscribing_a_held_channel_succeeds_again(pusherd_server: RunningServer) -> None:
    """§2.4: a subscribe for a channel the socket holds is answered with success again, and
    the socket still gets each event once."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("again")
        await client.subscribed("again")
        assert_json_success(await trigger(pusherd_server, _event("again", "once")))
        assert (await client.recv())["data"] == "once"
        await client.expect_nothing()


async def test_http_event_reaches_every_subscriber_byte_identical(
    pusherd_server: RunningServer,
) -> None:
    """B13: an HTTP trigger reaches each subscriber as exactly ``{"event","channel","data"}``,
    ``data`` being the posted string unchanged (spacing, escapes, non-ASCII, non-JSON)."""
    payloads = [
        '{"id": 7,  "home":2,"away":1}',
        '{"url":"https:\\/\\/x.test\\/a","name":"Jos\\u00e9 Ü ⚽"}',
        "plain text, not JSON",
        "",
        "123",
    ]
    async with open_socket(pusherd_server) as one, open_socket(pusherd_server) as two:
        await one.subscribed("matches")
        await two.subscribed("matches")
        for data in payloads:
            body = {"name": "match.update", "data": data, "channel": "matches"}
            assert assert_json_success(await trigger(pusherd_server, body)) == {}
            for client in (one, two):
                raw = await client.recv_raw()
                frame = json.loads(raw)
                assert frame == {"event": "match.update", "channel": "matches", "data": data}


async def test_python_sdk_authenticate_is_accepted_for_private_and_presence(
    pusherd_server: RunningServer,
) -> None:
    """B14 (Python part), C29: ``Pusher.authenticate`` output — private ``auth``, presence
    ``auth`` + ``channel_data`` with ``json.dumps`` spacing — subscribes successfully."""
    async with open_socket(pusherd_server) as client:
        with python_sdk(pusherd_server) as sdk:
            private = sdk.authenticate("private-orders.5", client.socket_id)
            presence = sdk.authenticate(
                "presence-match.7",
                client.socket_id,
                {"user_id": "42", "user_info": {"name": "Ada"}},
            )
        assert ", " in presence["channel_data"] and ": " in presence["channel_data"]
        assert await client.subscribed("private-orders.5", private["auth"]) == {}
        decoded = await client.subscribed(
            "presence-match.7", presence["auth"], presence["channel_data"]
        )
        assert decoded["presence"] == {
            "ids": ["42"],
            "hash": {"42": {"name": "Ada"}},
            "count": 1,
        }


async def test_wrong_signature_gets_auth_error_401_and_socket_stays_open(
    pusherd_server: RunningServer,
) -> None:
    """B15: a bad private ``auth`` → ``pusher:subscription_error`` (``channel`` set, type
    ``AuthError``, status 401); the socket still answers ``pusher:ping``."""
    async with open_socket(pusherd_server) as client:
        bad = f"{pusherd_server.key}:{'0' * 64}"
        frame = await client.subscribe("private-foobar", bad)
        _assert_subscription_error(frame, "private-foobar", "AuthError", 401)
        # Like Pusher, the text names the string to sign, never the expected signature.
        assert f"{client.socket_id}:private-foobar" in frame["data"]["error"], frame
        expected = private_auth(pusherd_server, client.socket_id, "private-foobar")
        assert expected.partition(":")[2] not in frame["data"]["error"], frame
        await client.ping()
        # The refused channel is not held: no events arrive for it.
        assert_json_success(await trigger(pusherd_server, _event("private-foobar", "x")))
        await client.expect_nothing()


@pytest.mark.parametrize(
    "auth",
    ["", "garbage", "278d425bdf160c739803", "278d425bdf160c739803:"],
)
async def test_missing_or_malformed_private_auth_is_refused(
    shared_server: RunningServer, auth: str
) -> None:
    """B15: an empty or malformed token on a private channel is an ``AuthError`` 401."""
    async with open_socket(shared_server) as client:
        frame = await client.subscribe("private-x", auth)
        _assert_subscription_error(frame, "private-x", "AuthError", 401)
        await client.ping()


async def test_auth_token_replayed_on_another_socket_is_refused(
    pusherd_server: RunningServer,
) -> None:
    """B16: a token valid for socket A is refused on socket B for the same channel."""
    async with open_socket(pusherd_server) as a, open_socket(pusherd_server) as b:
        token = private_auth(pusherd_server, a.socket_id, "private-room")
        frame = await b.subscribe("private-room", token)
        _assert_subscription_error(frame, "private-room", "AuthError", 401)
        assert await a.subscribed("private-room", token) == {}


async def test_auth_token_with_another_key_is_refused(shared_server: RunningServer) -> None:
    """B17: a token whose key part is not the app key is refused even with a valid HMAC."""
    async with open_socket(shared_server) as client:
        signature = sign(shared_server.secret, f"{client.socket_id}:private-room")
        frame = await client.subscribe("private-room", f"someotherkey:{signature}")
        _assert_subscription_error(frame, "private-room", "AuthError", 401)


@pytest.mark.parametrize(
    "channel",
    ["has space", "hash#tag", "#other", "x" * 165, "", "é", "a/b", "a:b"],
)
async def test_invalid_channel_names_are_refused(
    shared_server: RunningServer, channel: str
) -> None:
    """B18: a space, ``#`` outside ``#server-to-user-``, 165 characters or other characters
    outside ``[A-Za-z0-9_\\-=@,.;]`` → ``subscription_error`` ``InvalidChannel`` 400."""
    async with open_socket(shared_server) as client:
        frame = await client.subscribe(channel)
        _assert_subscription_error(frame, channel, "InvalidChannel", 400)
        await client.ping()


async def test_164_character_channel_name_is_accepted(pusherd_server: RunningServer) -> None:
    """B18: a valid 164-character name (every allowed character class) is accepted."""
    channel = ("private-Aa0_-=@,.;" + "z" * 200)[:164]
    async with open_socket(pusherd_server) as client:
        assert await client.subscribe_private(pusherd_server, channel) == {}
        public = ("Aa0_-=@,.;" + "z" * 200)[:164]
        assert await client.subscribed(public) == {}


async def test_unsubscribe_sends_no_reply_and_stops_events(pusherd_server: RunningServer) -> None:
    """B19: ``pusher:unsubscribe`` gets no reply frame; later events on the channel are not
    delivered, while other channels of the socket still are."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("leave-me")
        await client.subscribed("keep-me")
        await client.unsubscribe("leave-me")
        await client.expect_nothing()
        assert_json_success(await trigger(pusherd_server, _event("leave-me", "gone")))
        assert_json_success(await trigger(pusherd_server, _event("keep-me", "here")))
        frame = await client.recv()
        assert frame == {"event": "e", "channel": "keep-me", "data": "here"}
        await client.expect_nothing()


async def test_unsubscribing_a_channel_not_held_is_ignored(pusherd_server: RunningServer) -> None:
    """§2.7: unsubscribing a channel the socket does not hold sends nothing and changes
    nothing."""
    async with open_socket(pusherd_server) as client:
        await client.unsubscribe("never-joined")
        await client.expect_nothing()
        await client.ping()


async def test_trigger_with_socket_id_skips_that_socket_only(pusherd_server: RunningServer) -> None:
    """B21: an HTTP trigger with ``socket_id`` is not delivered to that socket and is delivered
    to every other subscriber."""
    async with (
        open_socket(pusherd_server) as sender,
        open_socket(pusherd_server) as other,
        open_socket(pusherd_server) as third,
    ):
        for client in (sender, other, third):
            await client.subscribed("matches")
        body = {**_event("matches", "x"), "socket_id": sender.socket_id}
        assert_json_success(await trigger(pusherd_server, body))
        for client in (other, third):
            assert (await client.recv())["data"] == "x"
        await sender.expect_nothing()


async def test_server_to_user_channel_refused_when_not_signed_in(
    shared_server: RunningServer,
) -> None:
    """B22: ``#server-to-user-42`` on a socket not signed in as 42 → ``subscription_error``
    (status 403); the socket stays open."""
    async with open_socket(shared_server) as client:
        frame = await client.subscribe("#server-to-user-42")
        assert frame["event"] == "pusher:subscription_error", frame
        assert frame["channel"] == "#server-to-user-42", frame
        assert frame["data"]["status"] == 403, frame
        await client.ping()


async def test_closed_socket_no_longer_receives_and_others_still_do(
    pusherd_server: RunningServer,
) -> None:
    """§2.9: after a subscriber disconnects, events still reach the others."""
    async with open_socket(pusherd_server) as stays:
        await stays.subscribed("matches")
        async with open_socket(pusherd_server) as leaves:
            await leaves.subscribed("matches")
        await stays.ping()
        assert_json_success(await trigger(pusherd_server, _event("matches", "after")))
        assert (await stays.recv())["data"] == "after"


def _event(channel: str, data: str) -> dict[str, str]:
    return {"name": "e", "data": data, "channel": channel}
