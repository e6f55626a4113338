"""Client-frame parsing and server-frame encoding (reference §1.3, §1.5, §2, §7)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pusherd.protocol.errors import ClientError
from pusherd.protocol.frames import (
    PING_FRAME,
    PONG_FRAME,
    ClientEvent,
    ClientFrame,
    Ping,
    Pong,
    Signin,
    Subscribe,
    UnknownEvent,
    Unsubscribe,
    cache_miss_frame,
    connection_established_frame,
    encode_event,
    member_added_frame,
    member_removed_frame,
    parse_client_frame,
    presence_data,
    signin_success_frame,
    subscription_count_frame,
    subscription_succeeded_frame,
    watchlist_events_frame,
)

# -- parsing ---------------------------------------------------------------------------------------

PRIVATE_AUTH = (
    "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            b'{"event":"pusher:subscribe","data":{"auth":"","channel":"matches"}}',
            Subscribe("matches", "", None),
            id="2.4-public-object-data",
        ),
        pytest.param(
            b'{"event":"pusher:subscribe","data":"{\\"auth\\":\\"\\",\\"channel\\":\\"matches\\"}"}',
            Subscribe("matches", "", None),
            id="checklist-9-json-string-data",
        ),
        pytest.param(
            b'{"event":"pusher:subscribe","data":{"channel":"matches"}}',
            Subscribe("matches", "", None),
            id="auth-absent-is-empty",
        ),
        pytest.param(
            b'{"event":"pusher:subscribe","data":{"auth":"' + PRIVATE_AUTH.encode() + b'",'
            b'"channel":"private-foobar"}}',
            Subscribe("private-foobar", PRIVATE_AUTH, None),
            id="2.4-private",
        ),
        pytest.param(
            b'{"event":"pusher:subscribe","data":{"auth":"k:s","channel_data":'
            b'"{\\"user_id\\": 10, \\"user_info\\": {\\"name\\": \\"Mr. Channels\\"}}",'
            b'"channel":"presence-foobar"}}',
            Subscribe(
                "presence-foobar",
                "k:s",
                '{"user_id": 10, "user_info": {"name": "Mr. Channels"}}',
            ),
            id="2.4-presence-channel_data-kept-verbatim",
        ),
        pytest.param(
            b'{"event":"pusher:unsubscribe","data":{"channel":"matches"}}',
            Unsubscribe("matches"),
            id="2.7-unsubscribe",
        ),
        pytest.param(
            b'{"event":"pusher:unsubscribe","data":"{\\"channel\\":\\"matches\\"}"}',
            Unsubscribe("matches"),
            id="2.7-unsubscribe-string-data",
        ),
        pytest.param(b'{"event":"pusher:ping","data":{}}', Ping(), id="2.3-ping"),
        pytest.param(b'{"event":"pusher:ping"}', Ping(), id="2.3-ping-without-data"),
        pytest.param(b'{"event":"pusher:pong","data":{}}', Pong(), id="2.3-pong"),
        pytest.param(
            b'{"event":"pusher:signin","data":{"auth":"k:s","user_data":"{\\"id\\":\\"12345\\"}"}}',
            Signin("k:s", '{"id":"12345"}'),
            id="2.11-signin-user_data-verbatim",
        ),
        pytest.param(
            b'{"event":"client-typing","data":{"typing":true},"channel":"private-chat.1"}',
            ClientEvent("client-typing", "private-chat.1", '{"typing":true}'),
            id="2.10-client-event-object-encoded-once",
        ),
        pytest.param(
            b'{"event":"client-typing","data":"{\\"typing\\": true}","channel":"private-chat.1"}',
            ClientEvent("client-typing", "private-chat.1", '{"typing": true}'),
            id="2.10-client-event-string-kept-verbatim",
        ),
        pytest.param(
            b'{"event":"client-x","data":"not json","channel":"private-a"}',
            ClientEvent("client-x", "private-a", "not json"),
            id="2.10-client-event-non-json-string-verbatim",
        ),
        pytest.param(
            b'{"event":"client-x","data":[1,2],"channel":"private-a"}',
            ClientEvent("client-x", "private-a", "[1,2]"),
            id="client-event-array",
        ),
        pytest.param(
            b'{"event":"client-x","data":{"b":1,"a":"\\u00e9"},"channel":"private-a"}',
            ClientEvent("client-x", "private-a", '{"b":1,"a":"\u00e9"}'),
            id="client-event-key-order-and-unicode-kept",
        ),
        pytest.param(
            b'{"event":"client-x","data":{"a":1},"channel":"presence-a","user_id":"forged"}',
            ClientEvent("client-x", "presence-a", '{"a":1}'),
            id="7.8-client-user_id-dropped",
        ),
        pytest.param(
            b'{"event":"pusher:unknown"}', UnknownEvent("pusher:unknown"), id="2.16-pusher"
        ),
        pytest.param(
            b'{"event":"pusher_internal:member_added","channel":"presence-a","data":"{}"}',
            UnknownEvent("pusher_internal:member_added"),
            id="2.16-pusher-internal-from-client",
        ),
        pytest.param(
            b'{"event":"my-event","channel":"private-a","data":{}}',
            UnknownEvent("my-event"),
            id="checklist-39-not-client-prefix",
        ),
        pytest.param(
            b'{"event":"Client-x","channel":"private-a","data":{}}',
            UnknownEvent("Client-x"),
            id="client-prefix-is-case-sensitive",
        ),
        pytest.param(
            '{"event":"pusher:ping","data":{}}',
            Ping(),
            id="str-input",
        ),
    ],
)
def test_parse_client_frame(raw: bytes | str, expected: ClientFrame) -> None:
    assert parse_client_frame(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="checklist-10-invalid-json"),
        pytest.param(b'{"event":"pusher:ping"', id="truncated"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"pusher:ping"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"42", id="number"),
        pytest.param(b"{}", id="missing-event"),
        pytest.param(b'{"event":null}', id="null-event"),
        pytest.param(b'{"event":42}', id="number-event"),
        pytest.param(b'{"event":["pusher:ping"]}', id="array-event"),
        pytest.param(b"[" * 2000 + b"]" * 2000, id="deeply-nested"),
        pytest.param(b'{"event":"pusher:subscribe"}', id="subscribe-without-data"),
        pytest.param(b'{"event":"pusher:subscribe","data":null}', id="subscribe-null-data"),
        pytest.param(b'{"event":"pusher:subscribe","data":"nope"}', id="subscribe-bad-json-string"),
        pytest.param(b'{"event":"pusher:subscribe","data":"[]"}', id="subscribe-string-array"),
        pytest.param(b'{"event":"pusher:subscribe","data":[]}', id="subscribe-array-data"),
        pytest.param(b'{"event":"pusher:unsubscribe","data":42}', id="unsubscribe-number-data"),
        # orjson reads 1,024 levels but writes only 254: re-encoding the data raised TypeError.
        pytest.param(
            b'{"event":"client-x","channel":"private-a","data":' + b"[" * 300 + b"]" * 300 + b"}",
            id="client-event-data-too-deep-to-re-encode",
        ),
    ],
)
def test_malformed_frames_are_invalid_message_format_with_null_code(raw: bytes) -> None:
    """§2.16, checklist 10 and 50: ``pusher:error`` code null "Invalid message format"."""
    with pytest.raises(ClientError) as caught:
        parse_client_frame(raw)
    assert caught.value.code is None
    assert caught.value.message == "Invalid message format"
    assert orjson.loads(caught.value.to_frame()) == {
        "event": "pusher:error",
        "data": {"code": None, "message": "Invalid message format"},
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({}, "channel", id="subscribe-missing-channel"),
        pytest.param({"channel": 42}, "channel", id="subscribe-number-channel"),
        pytest.param({"channel": None}, "channel", id="subscribe-null-channel"),
        pytest.param({"channel": "private-a", "auth": 42}, "auth", id="subscribe-number-auth"),
        pytest.param({"channel": "private-a", "auth": ["k:s"]}, "auth", id="subscribe-list-auth"),
        pytest.param(
            {"channel": "presence-a", "auth": "k:s", "channel_data": {"user_id": "1"}},
            "channel_data",
            id="2.4-channel_data-object-refused",
        ),
        pytest.param(
            {"channel": "presence-a", "auth": "k:s", "channel_data": 10},
            "channel_data",
            id="2.4-channel_data-number-refused",
        ),
    ],
)
def test_subscribe_fields_must_be_strings(data: dict[str, Any], field: str) -> None:
    raw = orjson.dumps({"event": "pusher:subscribe", "data": data})
    with pytest.raises(ClientError) as caught:
        parse_client_frame(raw)
    assert caught.value.code is None
    assert caught.value.message.startswith("Invalid message format")
    assert f"'{field}'" in caught.value.message


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param({"event": "pusher:signin", "data": {"auth": "k:s"}}, id="missing-user_data"),
        pytest.param(
            {"event": "pusher:signin", "data": {"auth": "k:s", "user_data": {"id": "1"}}},
            id="object-user_data",
        ),
        pytest.param({"event": "pusher:signin", "data": {"user_data": "{}"}}, id="missing-auth"),
        pytest.param({"event": "client-x", "data": {}}, id="client-event-without-channel"),
        pytest.param(
            {"event": "client-x", "data": {}, "channel": 7}, id="client-event-number-chan"
        ),
    ],
)
def test_other_malformed_commands_are_client_errors_with_null_code(frame: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        parse_client_frame(orjson.dumps(frame))
    assert caught.value.code is None
    assert caught.value.message.startswith("Invalid message format")


def test_client_event_data_is_encoded_once_without_spaces() -> None:
    event = parse_client_frame(
        b'{"event":"client-x","channel":"private-a","data":{ "a" : [1, 2], "b" : null }}'
    )
    assert event == ClientEvent("client-x", "private-a", '{"a":[1,2],"b":null}')


# -- encoding --------------------------------------------------------------------------------------


def test_connection_established_exact_bytes() -> None:
    """§1.3: data is a JSON string; socket_id a string, activity_timeout an integer."""
    frame = connection_established_frame("208836.27464492", 120)
    assert frame == (
        b'{"event":"pusher:connection_established",'
        b'"data":"{\\"socket_id\\":\\"208836.27464492\\",\\"activity_timeout\\":120}"}'
    )
    data = orjson.loads(orjson.loads(frame)["data"])
    assert isinstance(data["socket_id"], str)
    assert type(data["activity_timeout"]) is int


def test_subscription_succeeded_public_exact_bytes() -> None:
    """§2.5 and checklist 12: ``data`` is the string ``"{}"``."""
    assert subscription_succeeded_frame("matches") == (
        b'{"event":"pusher_internal:subscription_succeeded","channel":"matches","data":"{}"}'
    )


def test_subscription_succeeded_presence_data_has_ids_hash_count() -> None:
    """§2.5: ids (strings), hash id → user_info (null when none), count of distinct users."""
    members: dict[str, Any] = {"42": {"id": 42, "name": "Ada"}, "43": None}
    data = presence_data(members)
    assert data == (
        '{"presence":{"ids":["42","43"],"hash":{"42":{"id":42,"name":"Ada"},"43":null},"count":2}}'
    )
    frame = subscription_succeeded_frame("presence-match.7", data)
    decoded = orjson.loads(frame)
    assert decoded["event"] == "pusher_internal:subscription_succeeded"
    assert decoded["channel"] == "presence-match.7"
    assert isinstance(decoded["data"], str)
    assert orjson.loads(decoded["data"]) == {
        "presence": {"ids": ["42", "43"], "hash": members, "count": 2}
    }


def test_presence_data_of_empty_roster() -> None:
    assert presence_data({}) == '{"presence":{"ids":[],"hash":{},"count":0}}'


def test_member_added_exact_bytes() -> None:
    """§2.8: data is a JSON string holding user_id and user_info."""
    assert member_added_frame("presence-match.7", "43", {"id": 43, "name": "Lin"}) == (
        b'{"event":"pusher_internal:member_added","channel":"presence-match.7",'
        b'"data":"{\\"user_id\\":\\"43\\",\\"user_info\\":{\\"id\\":43,\\"name\\":\\"Lin\\"}}"}'
    )


def test_member_removed_exact_bytes() -> None:
    assert member_removed_frame("presence-match.7", "43") == (
        b'{"event":"pusher_internal:member_removed","channel":"presence-match.7",'
        b'"data":"{\\"user_id\\":\\"43\\"}"}'
    )


def test_cache_miss_has_no_data() -> None:
    """§2.14."""
    assert cache_miss_frame("cache-scores") == (
        b'{"event":"pusher:cache_miss","channel":"cache-scores"}'
    )


def test_ping_and_pong_frames() -> None:
    """§2.3: pusherd answers with ``{"event":"pusher:pong","data":{}}``."""
    assert PONG_FRAME == b'{"event":"pusher:pong","data":{}}'
    assert PING_FRAME == b'{"event":"pusher:ping","data":{}}'


def test_channel_event_relays_data_string_verbatim() -> None:
    """§2.9: the publisher's string is carried as-is, never decoded and re-encoded."""
    data = '{"id": 7, "home":2,"away":1}'
    frame = encode_event("match.update", "matches", data)
    assert frame == (
        b'{"event":"match.update","channel":"matches",'
        b'"data":"{\\"id\\": 7, \\"home\\":2,\\"away\\":1}"}'
    )
    assert orjson.loads(frame)["data"] == data


def test_presence_client_event_carries_user_id() -> None:
    """§2.10, §7 rule 8."""
    assert encode_event("client-typing", "presence-match.7", '{"typing":true}', "42") == (
        b'{"event":"client-typing","channel":"presence-match.7",'
        b'"data":"{\\"typing\\":true}","user_id":"42"}'
    )


@pytest.mark.parametrize(
    "data",
    ["", "plain text", "123", '"quoted"', "line\nbreak", "\u00e9\u2028", "App\\Events\\X"],
)
def test_channel_event_round_trips_any_data_string(data: str) -> None:
    assert orjson.loads(encode_event("e", "c", data)) == {
        "event": "e",
        "channel": "c",
        "data": data,
    }


def test_signin_success_carries_the_exact_user_data_string_in_an_object() -> None:
    """§2.11: ``data`` is an object; ``user_data`` the string that was signed."""
    assert signin_success_frame('{"id": "12345"}') == (
        b'{"event":"pusher:signin_success","data":{"user_data":"{\\"id\\": \\"12345\\"}"}}'
    )


@pytest.mark.parametrize(
    ("online", "offline", "events"),
    [
        (
            ["7"],
            ["9", "11"],
            [{"name": "online", "user_ids": ["7"]}, {"name": "offline", "user_ids": ["9", "11"]}],
        ),
        (["7"], [], [{"name": "online", "user_ids": ["7"]}]),
        ([], ["9"], [{"name": "offline", "user_ids": ["9"]}]),
        ([], [], []),
    ],
)
def test_watchlist_events_shape_pusher_js_requires(
    online: list[str], offline: list[str], events: list[dict[str, Any]]
) -> None:
    """§2.13, §17.1 item 14: ``data.events`` of ``{name, user_ids}``, no top-level arrays."""
    frame = orjson.loads(watchlist_events_frame(online, offline))
    assert frame == {"event": "pusher_internal:watchlist_events", "data": {"events": events}}


def test_subscription_count_exact_bytes() -> None:
    """§2.15: string-encoded data."""
    assert subscription_count_frame("matches", 42) == (
        b'{"event":"pusher_internal:subscription_count","channel":"matches",'
        b'"data":"{\\"subscription_count\\":42}"}'
    )
