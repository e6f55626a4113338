"""The version-1 bus envelope carries a frame's bytes unchanged (house style §2, rule 8)."""

from __future__ import annotations

import pytest

from pusherd.protocol.bus import (
    BusFormatError,
    BusMessage,
    decode_bus_message,
    encode_bus_message,
)
from pusherd.protocol.frames import encode_event

FRAME = encode_event("match.update", "sports.football", '{"id":7,"home":2,"away":1}')


@pytest.mark.parametrize("except_socket_id", [None, "123.456"])
@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(FRAME, id="frame"),
        pytest.param(b"", id="empty"),
        pytest.param(b"line\nbreaks\n\nand PD1 inside\n", id="newlines"),
        pytest.param(bytes(range(256)), id="every-byte"),
    ],
)
def test_round_trip_keeps_frame_bytes(frame: bytes, except_socket_id: str | None) -> None:
    message = encode_bus_message("3", "sports.football", frame, except_socket_id)
    assert decode_bus_message(message) == BusMessage(
        "3", "sports.football", except_socket_id, frame
    )


def test_wire_form_of_version_1() -> None:
    assert encode_bus_message("3", "matches", b"{}", "1.2") == (
        b'PD1 {"app":"3","channel":"matches","except":"1.2"}\n{}'
    )
    assert encode_bus_message("3", "matches", b"{}") == (
        b'PD1 {"app":"3","channel":"matches","except":null}\n{}'
    )


def test_header_with_newline_in_a_value_still_round_trips() -> None:
    """JSON escapes the newline, so the header stays on its line."""
    message = encode_bus_message("3", "odd\nname", b"x")
    assert decode_bus_message(message).channel == "odd\nname"


def test_decoded_frame_is_the_tail_of_the_message() -> None:
    message = encode_bus_message("3", "c", FRAME)
    assert message.endswith(FRAME)
    assert decode_bus_message(message).frame == FRAME


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(b"", id="empty"),
        pytest.param(FRAME, id="bare-frame"),
        pytest.param(b'PD2 {"app":"3","channel":"c","except":null}\n{}', id="other-version"),
        pytest.param(b'pd1 {"app":"3","channel":"c","except":null}\n{}', id="lower-case-magic"),
        pytest.param(b'PD1 {"app":"3","channel":"c","except":null}', id="no-newline"),
        pytest.param(b"PD1 not json\n{}", id="header-not-json"),
        pytest.param(b"PD1 \n{}", id="empty-header"),
        pytest.param(b'PD1 ["3","c"]\n{}', id="header-array"),
        pytest.param(b'PD1 {"channel":"c"}\n{}', id="missing-app"),
        pytest.param(b'PD1 {"app":"3"}\n{}', id="missing-channel"),
        pytest.param(b'PD1 {"app":3,"channel":"c"}\n{}', id="numeric-app"),
        pytest.param(b'PD1 {"app":"3","channel":null}\n{}', id="null-channel"),
        pytest.param(b'PD1 {"app":"3","channel":"c","except":1.2}\n{}', id="numeric-except"),
        pytest.param(b'PD1 {"app":"3","channel":"c","except":["1.2"]}\n{}', id="list-except"),
        pytest.param(b"PD1 \xff\xfe\n{}", id="header-not-utf8"),
    ],
)
def test_malformed_envelopes_raise_bus_format_error(message: bytes) -> None:
    with pytest.raises(BusFormatError):
        decode_bus_message(message)


def test_bus_format_error_is_a_value_error() -> None:
    assert issubclass(BusFormatError, ValueError)


@pytest.mark.parametrize("origin_node", [None, "node-a"])
def test_round_trip_keeps_origin_node(origin_node: str | None) -> None:
    message = encode_bus_message("3", "c", FRAME, "1.2", origin_node=origin_node)
    assert decode_bus_message(message) == BusMessage("3", "c", "1.2", FRAME, origin_node)


def test_outside_publishers_leave_the_node_out() -> None:
    """A poller's envelope has no ``node``; every node then delivers it."""
    assert b'"node"' not in encode_bus_message("3", "c", FRAME)
    assert encode_bus_message("3", "c", b"{}", origin_node="n1") == (
        b'PD1 {"app":"3","channel":"c","except":null,"node":"n1"}\n{}'
    )


@pytest.mark.parametrize("node", [b"1", b"null", b'["n"]'])
def test_node_must_be_a_string_or_absent(node: bytes) -> None:
    message = b'PD1 {"app":"3","channel":"c","except":null,"node":' + node + b"}\n{}"
    if node == b"null":
        assert decode_bus_message(message).origin_node is None
    else:
        with pytest.raises(BusFormatError):
            decode_bus_message(message)
