"""RFC 6455 framing as the server reads it: fragments, control frames, violations."""

from __future__ import annotations

import json
import struct

from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import RawSocket
from tests.servers import RunningServer

OP_CONT, OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA
PONG = {"event": "pusher:pong", "data": {}}


async def _expect_close(raw: RawSocket, code: int) -> None:
    opcode, payload = await raw.recv_frame()
    assert opcode == OP_CLOSE, (opcode, payload)
    assert struct.unpack("!H", payload[:2])[0] == code, payload


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
