"""Activity, ping and pong (reference §2.3, §8; checklist E43, E45–E47, F48).

The server-side liveness tests use :class:`RawSocket`, which never answers anything by itself,
with ``activity_timeout_s=1``, ``pong_timeout_s=1`` and a 0.2 s sweep.
"""

from __future__ import annotations

import asyncio
import json
import struct

from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import RawSocket, assert_error_frame, open_socket
from tests.servers import RunningServer

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
PUSHER_PING = {"event": "pusher:ping", "data": {}}
PUSHER_PONG = {"event": "pusher:pong", "data": {}}
FAST_KEEPALIVE = {"activity_timeout_s": 1, "pong_timeout_s": 1, "keepalive_sweep_s": 0.2}


async def test_pusher_ping_is_answered_with_pusher_pong_within_1s(
    pusherd_server: RunningServer,
) -> None:
    """E43: ``{"event":"pusher:ping","data":{}}`` → exactly ``{"event":"pusher:pong","data":{}}``
    within 1 s, also with ``data`` omitted or given as a string."""
    async with open_socket(pusherd_server) as client:
        for ping in (PUSHER_PING, {"event": "pusher:ping"}, {"event": "pusher:ping", "data": "{}"}):
            await client.send(ping)
            assert await client.recv(timeout=1.0) == PUSHER_PONG


async def test_silent_client_is_pinged_then_closed_with_4201(start_pusherd: StartPusherd) -> None:
    """E45, F48: a client that never answers gets a ping (control frame and ``pusher:ping``)
    after ``activity_timeout``, then ``pusher:error`` 4201 and close 4201 after the pong
    timeout."""
    server = await start_pusherd(**FAST_KEEPALIVE)
    loop = asyncio.get_running_loop()
    async with await RawSocket.connect(server) as raw:
        established = await raw.recv_json()
        assert established["event"] == "pusher:connection_established"
        start = loop.time()
        seen: list[int] = []
        while OP_TEXT not in seen:
            opcode, payload = await raw.recv_frame(timeout=3.0)
            seen.append(opcode)
            if opcode == OP_TEXT:
                assert json.loads(payload) == PUSHER_PING
        pinged_after = loop.time() - start
        assert seen == [OP_PING, OP_TEXT], seen
        # Not before the advertised activity timeout (the bound is the server's own promise).
        assert pinged_after >= 0.9, pinged_after
        error = await raw.recv_json(timeout=3.0)
        assert assert_error_frame(error, 4201) == "Pong reply not received"
        opcode, payload = await raw.recv_frame()
        assert opcode == OP_CLOSE, (opcode, payload)
        assert struct.unpack("!H", payload[:2])[0] == 4201
        assert loop.time() - start >= 1.9


async def test_client_answering_pusher_pong_stays_open(start_pusherd: StartPusherd) -> None:
    """E46: a raw client that answers every ``pusher:ping`` with ``pusher:pong`` (and ignores
    control pings) is never closed across three ping cycles, and still answers afterwards."""
    server = await start_pusherd(**FAST_KEEPALIVE)
    async with await RawSocket.connect(server) as raw:
        await raw.recv_json()
        pings = 0
        while pings < 3:
            opcode, payload = await raw.recv_frame(timeout=3.0)
            if opcode == OP_PING:
                continue
            assert opcode == OP_TEXT and json.loads(payload) == PUSHER_PING, (opcode, payload)
            raw.send_json(PUSHER_PONG)
            pings += 1
        raw.send_json(PUSHER_PING)
        while True:
            opcode, payload = await raw.recv_frame()
            if opcode == OP_TEXT and json.loads(payload) == PUSHER_PONG:
                break
            assert opcode == OP_PING or json.loads(payload) == PUSHER_PING, (opcode, payload)


async def test_client_answering_with_pong_control_frames_stays_open(
    start_pusherd: StartPusherd,
) -> None:
    """E46: answering the server's WebSocket ping control frames with pong frames (what browsers
    do) also keeps the socket open across three cycles."""
    server = await start_pusherd(**FAST_KEEPALIVE)
    async with await RawSocket.connect(server) as raw:
        await raw.recv_json()
        pings = 0
        while pings < 3:
            opcode, payload = await raw.recv_frame(timeout=3.0)
            if opcode == OP_TEXT:
                assert json.loads(payload) == PUSHER_PING, payload
                continue
            assert opcode == OP_PING, (opcode, payload)
            raw.send_frame(OP_PONG, payload)
            pings += 1
        raw.send_json(PUSHER_PING)
        while True:
            opcode, payload = await raw.recv_frame()
            if opcode == OP_TEXT and json.loads(payload) == PUSHER_PONG:
                break
            assert opcode == OP_PING or json.loads(payload) == PUSHER_PING, (opcode, payload)


async def test_websocket_ping_control_frame_is_answered_with_pong(
    pusherd_server: RunningServer,
) -> None:
    """E47: a WebSocket ping control frame gets a pong control frame with the same payload."""
    async with await RawSocket.connect(pusherd_server) as raw:
        await raw.recv_json()
        raw.send_frame(OP_PING, b"are-you-there")
        assert await raw.recv_frame() == (OP_PONG, b"are-you-there")
    async with open_socket(pusherd_server) as client:
        pong = await client.connection.ping(b"abc")
        await asyncio.wait_for(pong, 2.0)
