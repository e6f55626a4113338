"""The front door's limits against a real server (issue 10, item 5): deadlines for a request's
head and body, bounds on the head's size, and a cap per address on connections still in their
first head. Before the fix every one of these connections stayed open, holding its bytes."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from pusherd.config import FrontDoorLimits
from pusherd.frontdoor import HandshakeGate
from tests.servers import RunningServer, make_settings

#: One scaled wait: a deadline of LIMITS must have fired well within it.
WITHIN_S = 5.0
LIMITS = FrontDoorLimits(
    header_timeout_s=0.5,
    body_timeout_s=0.5,
    max_url_bytes=1024,
    max_head_bytes=8192,
    max_headers=20,
    max_handshakes_per_address=8,
    over_cap_grace_s=0.2,
)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = RunningServer(make_settings(front_door=LIMITS)).start()
    try:
        yield running
    finally:
        running.stop()


#: How early an event-loop timer may fire (libuv rounds to milliseconds).
TIMER_SLACK_S = 0.01


def _connect(server: RunningServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WITHIN_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a timeout fails the test."""
    received = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_handshake_gate_caps_per_address_and_frees_on_leave() -> None:
    gate = HandshakeGate(2)
    assert gate.try_enter("a") and gate.try_enter("a")
    assert not gate.try_enter("a")
    assert gate.try_enter("b")
    gate.leave("a")
    assert gate.held("a") == 1 and gate.try_enter("a")
    gate.leave("a")
    gate.leave("a")
    assert gate.held("a") == 0
    assert all(HandshakeGate(0).try_enter("c") for _ in range(100))


def test_silent_socket_is_closed_after_the_header_timeout(server: RunningServer) -> None:
    started = time.monotonic()
    with _connect(server) as sock:
        answer = _read_until_closed(sock)
    assert _status(answer) == 408
    # The event loop's timers have millisecond granularity: "not before the timeout" allows one
    # timer tick of slack.
    assert LIMITS.header_timeout_s - TIMER_SLACK_S <= time.monotonic() - started < WITHIN_S


def test_half_sent_head_gets_408_and_is_closed(server: RunningServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\nX-a: b")
        answer = _read_until_closed(sock)
    assert _status(answer) == 408
    assert b'{"error":' in answer


def test_half_sent_second_request_on_a_kept_alive_socket_times_out(
    server: RunningServer,
) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\n\r\nGET /up HTTP/1.1\r\nHo")
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 408" in answer


def test_unfinished_head_over_the_limit_is_431_at_once(server: RunningServer) -> None:
    """Refused when the bytes pass the limit, not at the deadline; nothing more is read."""
    with _connect(server) as sock:
        sock.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\nX-big: ")
        started = time.monotonic()
        try:
            for _ in range(64):
                sock.sendall(b"a" * 4096)
        except OSError:
            pass
        answer = _read_until_closed(sock)
    assert _status(answer) == 431
    assert time.monotonic() - started < LIMITS.header_timeout_s


def test_long_url_is_414(server: RunningServer) -> None:
    with _connect(server) as sock:
        try:
            sock.sendall(b"GET /" + b"a" * 4096)
        except OSError:
            pass
        answer = _read_until_closed(sock)
    assert _status(answer) == 414


def test_too_many_header_lines_is_431(server: RunningServer) -> None:
    lines = b"".join(b"X-%d: 1\r\n" % index for index in range(30))
    with _connect(server) as sock:
        sock.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
        answer = _read_until_closed(sock)
    assert _status(answer) == 431


def test_stalled_body_is_closed_after_the_body_timeout(server: RunningServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        started = time.monotonic()
        _read_until_closed(sock)
    assert time.monotonic() - started < WITHIN_S


def test_connections_in_their_first_head_are_capped_per_address(server: RunningServer) -> None:
    """Past the cap a silent connection is dropped after the short grace, not the full head
    deadline; one that sends its head at once is served; a finished head frees its slot."""
    silent = [_connect(server) for _ in range(LIMITS.max_handshakes_per_address)]
    try:
        for sock in silent:
            sock.sendall(b"G")  # accepted and parsed: the slot is taken
        time.sleep(0.1)
        with _connect(server) as extra:
            started = time.monotonic()
            assert _read_until_closed(extra) == b""
            assert time.monotonic() - started < LIMITS.header_timeout_s
        with _connect(server) as prompt:
            prompt.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _read_until_closed(prompt).startswith(b"HTTP/1.1 200")
        silent[0].sendall(b"ET /up HTTP/1.1\r\nHost: x\r\n\r\n")
        assert silent[0].recv(100).startswith(b"HTTP/1.1 200")
        response = httpx.get(f"{server.http_url}/up", timeout=WITHIN_S)
        assert response.status_code == 200
    finally:
        for sock in silent:
            sock.close()


def test_a_burst_of_prompt_clients_past_the_cap_is_served(server: RunningServer) -> None:
    """With the cap already taken by silent sockets, clients that send their head at once are
    all served (a busy loop accepts a burst before reading any head, so a cap that refused
    at accept would turn real clients away)."""
    silent = [_connect(server) for _ in range(LIMITS.max_handshakes_per_address)]
    burst = [_connect(server) for _ in range(LIMITS.max_handshakes_per_address * 3)]
    try:
        for sock in burst:
            sock.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = [_read_until_closed(sock) for sock in burst]
    finally:
        for sock in (*silent, *burst):
            sock.close()
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)


def test_websocket_outlives_the_header_timeout(server: RunningServer) -> None:
    """After the upgrade the WebSocket's own timeouts apply, not the head deadline."""
    with connect(server.ws_url(), open_timeout=WITHIN_S) as ws:
        assert "pusher:connection_established" in str(ws.recv(WITHIN_S))
        time.sleep(LIMITS.header_timeout_s * 3)
        ws.send('{"event":"pusher:ping","data":{}}')
        assert "pusher:pong" in str(ws.recv(WITHIN_S))
