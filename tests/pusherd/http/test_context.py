"""The one path every signed request takes in: cheap query checks first, then a body read with a
running limit (issue 10, item 3), so nobody is made to buffer a body it will refuse."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time

import orjson
import pytest

from tests.pusherd.transport.wsclient import sign
from tests.servers import RunningServer

#: One scaled wait: an answer that is due now must come within it.
ANSWER_WITHIN_S = 5.0


def _signed_query(server: RunningServer, path: str, body: bytes) -> str:
    query = {
        "auth_key": server.key,
        "auth_timestamp": str(int(time.time())),
        "auth_version": "1.0",
        "body_md5": hashlib.md5(body, usedforsecurity=False).hexdigest(),
    }
    ordered = "&".join(f"{name}={query[name]}" for name in sorted(query))
    signature = sign(server.secret, f"POST\n{path}\n{ordered}")
    return f"{ordered}&auth_signature={signature}"


def _exchange(
    server: RunningServer, target: str, chunks: list[bytes]
) -> tuple[int, dict[str, str], bytes]:
    """Send a chunked POST head and ``chunks`` (stopping if the server closes), then read one
    response. Blocking, so it runs in a thread beside the server's."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_WITHIN_S) as sock:
        sock.sendall(
            f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # refused mid-body: the answer is already waiting
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            assert data, f"closed without an answer: {received!r}"
            received += data
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body[: int(headers.get("content-length", "0"))]


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


async def test_chunked_body_over_the_limit_is_413_before_it_ends(
    shared_server: RunningServer,
) -> None:
    """A chunked body is refused as soon as it passes 1 MiB, while the client is still sending:
    the server never waits to hold the whole body (before the fix it waited for the last chunk,
    buffering everything, and answered nothing to a body that never ended)."""
    path = f"/apps/{shared_server.app_id}/events"
    target = f"{path}?{_signed_query(shared_server, path, b'x')}"
    chunks = [_chunk(b"a" * 65536)] * 20  # 1.25 MiB, and no terminating chunk
    status, headers, body = await asyncio.to_thread(_exchange, shared_server, target, chunks)
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    assert orjson.loads(body)["error"].startswith("Request body is larger than")


async def test_unsigned_request_is_refused_before_its_body_is_read(
    shared_server: RunningServer,
) -> None:
    """No ``auth_key``/``auth_timestamp``: 401 at once, without reading a byte of the body."""
    target = f"/apps/{shared_server.app_id}/events"
    status, _, body = await asyncio.to_thread(_exchange, shared_server, target, [_chunk(b"a" * 16)])
    assert status == 401
    assert orjson.loads(body) == {"error": "Missing query parameter auth_key"}


async def test_stale_timestamp_is_refused_before_the_body_is_read(
    shared_server: RunningServer,
) -> None:
    """An ``auth_timestamp`` outside the 600 s window is a 401 before any body is read."""
    path = f"/apps/{shared_server.app_id}/events"
    query = (
        f"auth_key={shared_server.key}&auth_timestamp=1000&auth_version=1.0"
        "&body_md5=x&auth_signature=y"
    )
    status, _, body = await asyncio.to_thread(_exchange, shared_server, f"{path}?{query}", [])
    assert status == 401
    assert orjson.loads(body)["error"].startswith("Timestamp expired")


async def test_signed_chunked_body_within_the_limit_is_published(
    shared_server: RunningServer,
) -> None:
    """A chunked body under the limit is read whole and its ``body_md5`` checked as before."""
    body = orjson.dumps({"name": "e", "data": "d" * 5000, "channel": "c"})
    path = f"/apps/{shared_server.app_id}/events"
    target = f"{path}?{_signed_query(shared_server, path, body)}"
    chunks = [_chunk(body[start : start + 1000]) for start in range(0, len(body), 1000)]
    status, _, answer = await asyncio.to_thread(
        _exchange, shared_server, target, [*chunks, b"0\r\n\r\n"]
    )
    assert (status, orjson.loads(answer)) == (200, {})


async def test_client_gone_mid_body_is_not_logged_as_an_error(
    shared_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A signed request whose client disconnects half-way through the body: nothing to answer,
    and nothing at ERROR (it is the client's doing, not a crashed handler)."""
    path = f"/apps/{shared_server.app_id}/events"
    target = f"{path}?{_signed_query(shared_server, path, b'x')}"

    def send_half_and_leave() -> None:
        with socket.create_connection(("127.0.0.1", shared_server.port), timeout=5) as sock:
            sock.sendall(
                f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode()
                + b"{" * 500
            )
            time.sleep(0.2)

    with caplog.at_level("ERROR", logger="pusherd"):
        await asyncio.to_thread(send_half_and_leave)
        await asyncio.sleep(0.3)
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
