"""Client events (reference §2.10, §7; checklist D34–D41, F49, F50)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import (
    assert_error_frame,
    open_socket,
    private_auth,
)
from tests.servers import RunningServer

DISABLED_MESSAGE = (
    "To send client events, you must enable this feature in the Settings page of your dashboard."
)


def _client_event(channel: str, data: Any, event: str = "client-typing") -> dict[str, Any]:
    """What pusher-js ``channel.trigger`` sends: ``data`` as an object (§2.10)."""
    return {"event": event, "data": data, "channel": channel}


async def test_private_client_event_reaches_others_not_sender(
    pusherd_server: RunningServer,
) -> None:
    """D34: on a private channel the event reaches every other subscriber with string ``data``
    decoding to the sent object; the sender receives nothing."""
    async with (
        open_socket(pusherd_server) as sender,
        open_socket(pusherd_server) as one,
        open_socket(pusherd_server) as two,
    ):
        for client in (sender, one, two):
            await client.subscribe_private(pusherd_server, "private-chat.1")
        await sender.send(_client_event("private-chat.1", {"a": 1}))
        for client in (one, two):
            frame = await client.recv()
            assert frame.keys() == {"event", "channel", "data"}, frame
            assert frame["event"] == "client-typing" and frame["channel"] == "private-chat.1"
            assert isinstance(frame["data"], str) and json.loads(frame["data"]) == {"a": 1}
        await sender.expect_nothing()


async def test_client_event_string_data_is_relayed_unchanged(
    pusherd_server: RunningServer,
) -> None:
    """§2.10: a client event whose ``data`` is a string is relayed as that exact string."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        for client in (sender, other):
            await client.subscribe_private(pusherd_server, "private-chat.2")
        data = '{"typing": true,  "x":"\\u00e9"}'
        await sender.send(_client_event("private-chat.2", data))
        frame = await other.recv()
        assert frame == {"event": "client-typing", "channel": "private-chat.2", "data": data}


async def test_presence_client_event_carries_sender_user_id_replacing_forged_one(
    pusherd_server: RunningServer,
) -> None:
    """D35: on a presence channel the relayed frame carries the sender's ``user_id``; a
    ``user_id`` forged in the client frame is replaced."""
    channel = "presence-match.7"
    async with open_socket(pusherd_server) as ada, open_socket(pusherd_server) as lin:
        await ada.subscribe_presence(pusherd_server, channel, '{"user_id":42}')
        await lin.subscribe_presence(pusherd_server, channel, '{"user_id":"43"}')
        await ada.recv()  # member_added for 43
        await ada.send(_client_event(channel, {"hi": 1}))
        frame = await lin.recv()
        assert frame == {
            "event": "client-typing",
            "channel": channel,
            "data": '{"hi":1}',
            "user_id": "42",
        }
        forged = {**_client_event(channel, {"hi": 2}), "user_id": "43"}
        await ada.send(forged)
        frame = await lin.recv()
        assert frame["user_id"] == "42" and json.loads(frame["data"]) == {"hi": 2}, frame
        await ada.expect_nothing()


async def test_client_event_on_public_channel_is_refused(pusherd_server: RunningServer) -> None:
    """D36: a client event on a public channel is not relayed and the sender gets
    ``pusher:error`` (``code: null``); the socket stays open."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        for client in (sender, other):
            await client.subscribed("matches")
        await sender.send(_client_event("matches", {"a": 1}))
        assert_error_frame(await sender.recv(), None)
        await other.expect_nothing()
        await sender.ping()


async def test_client_event_on_encrypted_channel_is_refused(pusherd_server: RunningServer) -> None:
    """D37: a raw client's event on ``private-encrypted-*`` is not relayed (``pusher:error``)."""
    channel = "private-encrypted-vault.1"
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        for client in (sender, other):
            await client.subscribe_private(pusherd_server, channel)
        await sender.send(_client_event(channel, {"a": 1}))
        assert_error_frame(await sender.recv(), None)
        await other.expect_nothing()


async def test_client_event_on_channel_not_joined_is_refused(
    pusherd_server: RunningServer,
) -> None:
    """D38: a client event on a private channel the socket never joined — or whose subscription
    was refused — is not relayed; the sender gets ``pusher:error``."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        await other.subscribe_private(pusherd_server, "private-chat.3")
        await sender.send(_client_event("private-chat.3", {"a": 1}))
        assert_error_frame(await sender.recv(), None)
        refused = await sender.subscribe("private-chat.3", f"{pusherd_server.key}:{'0' * 64}")
        assert refused["event"] == "pusher:subscription_error", refused
        await sender.send(_client_event("private-chat.3", {"a": 2}))
        assert_error_frame(await sender.recv(), None)
        await other.expect_nothing()


async def test_client_event_sent_right_after_subscribe_waits_for_the_subscription(
    pusherd_server: RunningServer,
) -> None:
    """D38 / frame order: a client event sent back to back after its subscribe is handled after
    the subscription is applied, so it is relayed, never raced ahead of it."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        await other.subscribe_private(pusherd_server, "private-chat.4")
        auth = private_auth(pusherd_server, sender.socket_id, "private-chat.4")
        await sender.send(
            {"event": "pusher:subscribe", "data": {"auth": auth, "channel": "private-chat.4"}}
        )
        await sender.send(_client_event("private-chat.4", {"n": 1}))
        assert (await sender.recv())["event"] == "pusher_internal:subscription_succeeded"
        assert json.loads((await other.recv())["data"]) == {"n": 1}
        await sender.expect_nothing()


async def test_non_client_events_from_clients_are_never_relayed(
    pusherd_server: RunningServer,
) -> None:
    """D39: a client frame whose event does not start with ``client-`` is never relayed."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        for client in (sender, other):
            await client.subscribe_private(pusherd_server, "private-chat.5")
        for event in ("typing", "my-event", "pusher:custom", "pusher_internal:member_added"):
            await sender.send(_client_event("private-chat.5", {"a": 1}, event=event))
        await other.expect_nothing()
        await sender.ping()


async def test_eleventh_client_event_in_a_second_gets_4301_then_works_again(
    pusherd_server: RunningServer,
) -> None:
    """D40, F49: 10 events in one second are relayed; the 11th gets ``pusher:error`` 4301 and is
    dropped; the socket is not closed; after the second has passed, sending works again."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        for client in (sender, other):
            await client.subscribe_private(pusherd_server, "private-chat.6")
        for index in range(11):
            await sender.send(_client_event("private-chat.6", {"n": index}))
        error = await sender.recv()
        assert assert_error_frame(error, 4301) == "Client event rejected due to rate limit"
        received = [json.loads((await other.recv())["data"])["n"] for _ in range(10)]
        assert received == list(range(10))
        await other.expect_nothing(0.1)
        await sender.ping()
        # The next one-second window (waiting is the condition under test, not a race).
        await asyncio.sleep(1.05)
        await sender.send(_client_event("private-chat.6", {"n": "again"}))
        assert json.loads((await other.recv())["data"]) == {"n": "again"}
        await sender.expect_nothing(0.1)
        assert not sender.connection.close_code


async def test_client_event_over_10_kb_is_refused(pusherd_server: RunningServer) -> None:
    """D41: ``data`` over 10 KB after serialisation → ``pusher:error``, not relayed; 10 KB is
    relayed."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        for client in (sender, other):
            await client.subscribe_private(pusherd_server, "private-chat.7")
        await sender.send(_client_event("private-chat.7", "x" * 10_241))
        assert_error_frame(await sender.recv(), None)
        await other.expect_nothing()
        await sender.send(_client_event("private-chat.7", "y" * 10_240))
        assert (await other.recv())["data"] == "y" * 10_240


async def test_client_events_disabled_for_app_are_refused(start_pusherd: StartPusherd) -> None:
    """D41, §7 rule 1: with client events disabled every client event gets ``pusher:error``
    ``code: null`` with Pusher's text and is not relayed."""
    server = await start_pusherd(client_events_enabled=False)
    async with open_socket(server) as sender, open_socket(server) as other:
        for client in (sender, other):
            await client.subscribe_private(server, "private-chat.8")
        await sender.send(_client_event("private-chat.8", {"a": 1}))
        assert assert_error_frame(await sender.recv(), None) == DISABLED_MESSAGE
        await other.expect_nothing()
        await sender.ping()


async def test_client_event_name_over_200_characters_is_refused(
    pusherd_server: RunningServer,
) -> None:
    """§7 rule 7: a client event name over 200 characters → ``pusher:error``, not relayed."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        for client in (sender, other):
            await client.subscribe_private(pusherd_server, "private-chat.9")
        await sender.send(_client_event("private-chat.9", {}, event="client-" + "x" * 194))
        assert_error_frame(await sender.recv(), None)
        await other.expect_nothing()
        await sender.send(_client_event("private-chat.9", {}, event="client-" + "x" * 193))
        assert (await other.recv())["event"] == "client-" + "x" * 193


async def test_client_event_rate_limit_is_per_connection(pusherd_server: RunningServer) -> None:
    """D40: the limit counts per connection: every event past the 10th of a socket is refused
    with 4301, while another socket's events in the same second still pass."""
    async with (
        open_socket(pusherd_server) as noisy,
        open_socket(pusherd_server) as calm,
        open_socket(pusherd_server) as other,
    ):
        for client in (noisy, calm, other):
            await client.subscribe_private(pusherd_server, "private-chat.10")
        for index in range(12):
            await noisy.send(_client_event("private-chat.10", {"n": index}))
        for _ in range(2):
            assert_error_frame(await noisy.recv(), 4301)
        await calm.send(_client_event("private-chat.10", {"from": "calm"}))
        frames = [json.loads((await other.recv())["data"]) for _ in range(11)]
        assert frames[:10] == [{"n": index} for index in range(10)]
        assert frames[10] == {"from": "calm"}
        assert json.loads((await noisy.recv())["data"]) == {"from": "calm"}
        await noisy.ping()
