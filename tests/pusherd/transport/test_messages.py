"""What the socket does with each client frame: formats, sizes, order (reference §1.5, §2.16;
checklist A9, A10, F50)."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import (
    RawSocket,
    assert_error_frame,
    assert_no_error_logged,
    open_socket,
    presence_auth,
    private_auth,
)
from tests.servers import RunningServer


async def test_subscribe_data_as_object_or_json_string(pusherd_server: RunningServer) -> None:
    """A9: ``pusher:subscribe`` works with ``data`` as an object and as a JSON-encoded string."""
    async with open_socket(pusherd_server) as client:
        await client.send({"event": "pusher:subscribe", "data": {"auth": "", "channel": "a"}})
        first = await client.recv()
        as_string = json.dumps({"channel": "private-b", "auth": ""})
        await client.send({"event": "pusher:subscribe", "data": as_string})
        refused = await client.recv()
        auth = private_auth(pusherd_server, client.socket_id, "private-b")
        as_string = json.dumps({"channel": "private-b", "auth": auth})
        await client.send({"event": "pusher:subscribe", "data": as_string})
        second = await client.recv()
    assert first == {
        "event": "pusher_internal:subscription_succeeded",
        "channel": "a",
        "data": "{}",
    }
    # The string form is really parsed: its auth is checked, not skipped.
    assert refused["event"] == "pusher:subscription_error", refused
    assert second == {
        "event": "pusher_internal:subscription_succeeded",
        "channel": "private-b",
        "data": "{}",
    }


async def test_invalid_json_gets_error_with_null_code_and_socket_stays_open(
    shared_server: RunningServer,
) -> None:
    """A10, F50: text that is not JSON → ``pusher:error`` ``code: null``; the socket still
    answers ``pusher:ping``."""
    async with open_socket(shared_server) as client:
        await client.send("{not json")
        assert assert_error_frame(await client.recv(), None) == "Invalid message format"
        await client.ping()


async def test_client_event_too_deep_to_re_encode_gets_error_and_socket_stays_open(
    shared_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Object ``data`` nested 300 deep is read (orjson allows 1,024 levels) but cannot be
    written back (254): that raised out of the parser, and the socket was dropped with "Fatal
    error on transport" in the log. It is a malformed frame like any other (§2.16)."""
    caplog.set_level(logging.WARNING)
    deep = "[" * 300 + "]" * 300
    async with open_socket(shared_server) as client:
        await client.send(f'{{"event":"client-x","channel":"private-a","data":{deep}}}')
        assert assert_error_frame(await client.recv(), None) == "Invalid message format"
        await client.ping()
    assert_no_error_logged(caplog)


async def test_frames_without_a_usable_event_get_error_with_null_code(
    shared_server: RunningServer,
) -> None:
    """§2.16, F50: JSON that is not an object, or has no string ``event`` → ``pusher:error``
    with ``code: null``; the socket stays open."""
    async with open_socket(shared_server) as client:
        for text in ("[1,2]", '"x"', "{}", '{"event":5}', '{"data":{}}'):
            await client.send(text)
            assert_error_frame(await client.recv(), None)
        await client.ping()


async def test_malformed_subscribe_gets_error_and_socket_stays_open(
    shared_server: RunningServer,
) -> None:
    """§2.16, F50: a subscribe without a channel, or with non-JSON string data, is refused with a
    well-formed ``pusher:error`` and the socket keeps working."""
    async with open_socket(shared_server) as client:
        for data in ({}, "not json", 5, {"channel": 7}):
            await client.send({"event": "pusher:subscribe", "data": data})
            assert_error_frame(await client.recv(), None)
        await client.ping()


async def test_unknown_events_are_ignored_silently(shared_server: RunningServer) -> None:
    """§2.16: unknown ``pusher:*`` events and non-``client-`` events get no reply."""
    async with open_socket(shared_server) as client:
        await client.send({"event": "pusher:nonsense", "data": {}})
        await client.send({"event": "my-event", "data": {}, "channel": "x"})
        await client.send({"event": "pusher:pong", "data": {}})
        await client.expect_nothing()
        await client.ping()


async def test_message_over_frame_limit_closes_1009_without_hurting_others(
    start_pusherd: StartPusherd,
) -> None:
    """RFC 6455 §7.4.1: a message larger than ``max_ws_frame_bytes`` closes that socket with
    1009; another socket on the same channel keeps working and keeps its subscription."""
    server = await start_pusherd(max_ws_frame_bytes=4096)
    async with open_socket(server) as big, open_socket(server) as other:
        await other.subscribed("shared")
        await big.subscribed("shared")
        await big.send(json.dumps({"event": "pusher:ping", "data": {"pad": "x" * 5000}}))
        await big.expect_closed(1009)
        await other.ping()
        await other.send({"event": "pusher:ping", "data": {"pad": "y" * 3000}})
        assert await other.recv() == {"event": "pusher:pong", "data": {}}


async def test_frames_sent_while_a_subscribe_is_pending_keep_their_order(
    pusherd_server: RunningServer,
) -> None:
    """Frames are handled in order: subscribe, subscribe, ping, unsubscribe, subscribe, ping sent
    back to back are answered in exactly that order."""
    async with open_socket(pusherd_server) as client:
        sid = client.socket_id
        channel_data = '{"user_id":"1"}'
        presence = presence_auth(pusherd_server, sid, "presence-o", channel_data)
        frames = [
            {"event": "pusher:subscribe", "data": {"auth": "", "channel": "o1"}},
            {
                "event": "pusher:subscribe",
                "data": {"auth": presence, "channel": "presence-o", "channel_data": channel_data},
            },
            {"event": "pusher:ping", "data": {}},
            {"event": "pusher:unsubscribe", "data": {"channel": "o1"}},
            {"event": "pusher:subscribe", "data": {"auth": "", "channel": "o2"}},
            {"event": "pusher:ping", "data": {}},
        ]
        for frame in frames:
            await client.send(frame)
        received = [await client.recv() for _ in range(5)]
        await client.expect_nothing()
    assert [(f["event"], f.get("channel")) for f in received] == [
        ("pusher_internal:subscription_succeeded", "o1"),
        ("pusher_internal:subscription_succeeded", "presence-o"),
        ("pusher:pong", None),
        ("pusher_internal:subscription_succeeded", "o2"),
        ("pusher:pong", None),
    ]


async def test_burst_of_150_subscribes_in_one_write_all_succeed_in_order(
    pusherd_server: RunningServer,
) -> None:
    """§2.4: after a reconnect pusher-js re-subscribes every channel at once, so a burst of
    subscribes (150 here, below ``max_channels_per_connection``) arriving in one read must all
    be answered, in order, without closing the socket."""
    channels = [f"private-App.Models.Thing.{index}" for index in range(150)]
    async with await RawSocket.connect(pusherd_server) as raw:
        established = await raw.recv_json()
        socket_id = json.loads(established["data"])["socket_id"]
        raw.send_frames(
            *(
                (
                    0x1,
                    json.dumps(
                        {
                            "event": "pusher:subscribe",
                            "data": {
                                "auth": private_auth(pusherd_server, socket_id, channel),
                                "channel": channel,
                            },
                        }
                    ).encode(),
                )
                for channel in channels
            )
        )
        answered = []
        for _ in channels:
            frame = await raw.recv_json()
            assert frame["event"] == "pusher_internal:subscription_succeeded", frame
            answered.append(frame["channel"])
        assert answered == channels
