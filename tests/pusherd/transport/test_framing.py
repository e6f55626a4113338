"""RFC 6455 framing as the server reads it: fragments, control frames, violations."""

from __future__ import annotations

import json
import logging
import struct
import time

import pytest

from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import RawSocket, assert_no_error_logged
from tests.servers import RunningServer

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
PONG = {"event": "pusher:pong", "data": {}}


async def _expect_close(raw: RawSocket, code: int) -> None:
    opcode, payload = await raw.recv_frame()
    assert opcode == OP_CLOSE, (opcode, payload)
    assert struct.unpack("!H", payload[:2])[0] == code, payload


async def _expect_close_then_eof(raw: RawSocket, code: int) -> None:
    """The server's close frame with ``code``, then the end of the TCP stream (§7.1.1)."""
    await _expect_close(raw, code)
    assert await raw.reader.read() == b""


async def test_fragmented_message_is_reassembled_around_a_ping(
    shared_server: RunningServer,
) -> None:
    """RFC 6455 §5.4: a text message split over three frames, with a ping control frame in the
    middle, is answered once (pong control frame first, then the ``pusher:pong``)."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        message = json.dumps({"event": "pusher:ping", "data": {}}).encode()
        raw.send_frame(OP_TEXT, message[:5], fin=False)
        raw.send_frame(OP_CONT, message[5:10], fin=False)
        raw.send_frame(OP_PING, b"mid")
        raw.send_frame(OP_CONT, message[10:])
        assert await raw.recv_frame() == (OP_PONG, b"mid")
        assert await raw.recv_json() == PONG


async def test_unmasked_client_frame_closes_1002(shared_server: RunningServer) -> None:
    """RFC 6455 §5.1: an unmasked client frame is a protocol error → close 1002."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_TEXT, b'{"event":"pusher:ping","data":{}}', masked=False)
        await _expect_close(raw, 1002)


async def test_continuation_without_start_closes_1002(shared_server: RunningServer) -> None:
    """RFC 6455 §5.4: a continuation frame with no message started → close 1002."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_CONT, b"x")
        await _expect_close(raw, 1002)


async def test_fragments_over_the_limit_close_1009(start_pusherd: StartPusherd) -> None:
    """A message whose fragments add up past ``max_ws_frame_bytes`` → close 1009, though each
    fragment alone is under the limit."""
    server = await start_pusherd(max_ws_frame_bytes=4096)
    async with await RawSocket.connect(server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_TEXT, b"x" * 3000, fin=False)
        raw.send_frame(OP_CONT, b"x" * 3000)
        await _expect_close(raw, 1009)


async def test_client_close_frame_is_echoed(shared_server: RunningServer) -> None:
    """RFC 6455 §5.5.1: a client close frame is answered with a close frame with its code."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
        await _expect_close(raw, 1000)
        assert await raw.reader.read() == b""


async def test_empty_continuation_flood_is_refused_and_others_keep_working(
    shared_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10 item 1: one message of 20,000 empty continuations (120 KB) froze every socket of
    the node for ~4 s. Now the run is refused with 1009 at once, and another client's pings are
    answered meanwhile, each well within the frame timeout."""
    caplog.set_level(logging.WARNING)
    async with (
        await RawSocket.connect(shared_server) as control,
        await RawSocket.connect(shared_server) as attacker,
    ):
        await control.recv_json()
        await attacker.recv_json()
        attacker.send_frame(OP_TEXT, b'{"event":"pusher:ping",', fin=False)
        attacker.writer.write(RawSocket._frame(OP_CONT, b"", fin=False) * 20_000)
        attacker.send_frame(OP_CONT, b'"data":{}}')
        for _ in range(5):
            started = time.monotonic()
            control.send_json({"event": "pusher:ping", "data": {}})
            assert await control.recv_json() == PONG
            assert time.monotonic() - started < 1.0
        await _expect_close(attacker, 1009)
    assert_no_error_logged(caplog)


async def test_message_of_too_many_fragments_closes_1009(shared_server: RunningServer) -> None:
    """1,025 one-byte fragments are far under the size limit but past the fragment bound."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_TEXT, b"[", fin=False)
        raw.writer.write(RawSocket._frame(OP_CONT, b" ", fin=False) * 1024)
        raw.send_frame(OP_CONT, b"]")
        await _expect_close(raw, 1009)


@pytest.mark.parametrize("code", [1001, 1012, 3000, 4999])
async def test_valid_client_close_code_is_echoed(shared_server: RunningServer, code: int) -> None:
    """RFC 6455 §5.5.1: a close with a code a peer may send is answered with the same code."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_CLOSE, struct.pack("!H", code))
        await _expect_close_then_eof(raw, code)


async def test_client_close_without_code_is_answered_1000(shared_server: RunningServer) -> None:
    """§7.1.5: an empty close body means no status (1005), which is never sent back: 1000."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_CLOSE, b"")
        await _expect_close_then_eof(raw, 1000)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(struct.pack("!H", 1006), 1002, id="1006-must-not-be-sent"),
        pytest.param(struct.pack("!H", 1015), 1002, id="1015-must-not-be-sent"),
        pytest.param(struct.pack("!H", 1005), 1002, id="1005-must-not-be-sent"),
        pytest.param(struct.pack("!H", 1004), 1002, id="1004-reserved"),
        pytest.param(struct.pack("!H", 999), 1002, id="999-out-of-range"),
        pytest.param(struct.pack("!H", 2000), 1002, id="2000-unassigned"),
        pytest.param(struct.pack("!H", 5000), 1002, id="5000-out-of-range"),
        pytest.param(b"\x03", 1002, id="one-byte-body"),
        pytest.param(struct.pack("!H", 1000) + b"\xff\xfe", 1007, id="reason-not-utf8"),
    ],
)
async def test_invalid_client_close_is_failed_not_echoed(
    shared_server: RunningServer, caplog: pytest.LogCaptureFixture, body: bytes, code: int
) -> None:
    """RFC 6455 §7.4: codes a peer must not send (1004–1006, 1015, < 1000, unassigned, ≥ 5000)
    and a one-byte body are protocol errors (1002); a reason that is not UTF-8 is 1007 (§8.1).
    The issue found 1006/1015/5000 echoed and a one-byte body answered 1000."""
    caplog.set_level(logging.WARNING)
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_CLOSE, body)
        await _expect_close_then_eof(raw, code)
    assert_no_error_logged(caplog)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"event":"pusher:ping","data":"\xff"}', id="invalid-byte"),
        pytest.param(b'{"event":"pusher:ping","data":"\xed\xa0\x80"}', id="surrogate"),
        pytest.param(b'{"event":"pusher:ping","data":"\xc3"}', id="truncated"),
    ],
)
async def test_text_frame_not_utf8_closes_1007(
    shared_server: RunningServer, caplog: pytest.LogCaptureFixture, payload: bytes
) -> None:
    """RFC 6455 §8.1: a text message that is not UTF-8 fails the connection with 1007, rather
    than a ``pusher:error`` on a socket left open."""
    caplog.set_level(logging.WARNING)
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_TEXT, payload)
        await _expect_close(raw, 1007)
    assert_no_error_logged(caplog)


async def test_text_frame_utf8_but_not_json_keeps_the_socket(shared_server: RunningServer) -> None:
    """Valid UTF-8 that is not a Pusher frame is the protocol's ``pusher:error`` (§2.16) and
    the socket stays open: only the WebSocket-level fault closes it."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_TEXT, "not json \u00e9".encode())
        frame = await raw.recv_json()
        assert frame["event"] == "pusher:error" and frame["data"]["code"] is None, frame
        raw.send_json({"event": "pusher:ping", "data": {}})
        assert await raw.recv_json() == PONG


@pytest.mark.parametrize(
    "frames",
    [
        pytest.param([(OP_BINARY, b'{"event":"pusher:ping","data":{}}', True)], id="json"),
        pytest.param([(OP_BINARY, b"\x00\x01", True)], id="bytes"),
        pytest.param([(OP_BINARY, b'{"event":', False), (OP_CONT, b"}", True)], id="fragmented"),
    ],
)
async def test_binary_message_closes_1003(
    shared_server: RunningServer, frames: list[tuple[int, bytes, bool]]
) -> None:
    """Binary frames are not part of the Pusher protocol (reference §1.1): RFC 6455 §7.4.1's
    1003, "a type of data it cannot accept", rather than reading them as JSON."""
    async with await RawSocket.connect(shared_server) as raw:
        await raw.recv_json()
        for opcode, payload, fin in frames:
            raw.send_frame(opcode, payload, fin=fin)
        await _expect_close(raw, 1003)
