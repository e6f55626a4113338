"""Signed HTTP API publishing (``POST /apps/{id}/events``) over raw keep-alive connections.

Signing follows the protocol reference §5.5: body_md5 of the raw body, then HMAC-SHA256 of
``POST\\n<path>\\n<sorted query>`` keyed with the app secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import cast

import orjson

from bench.wsclient import EVENT_NAME


def signed_target(
    app_id: str, key: str, secret: str, body: bytes, ts: int | None = None, resource: str = "events"
) -> str:
    path = f"/apps/{app_id}/{resource}"
    query = (
        f"auth_key={key}&auth_timestamp={int(time.time()) if ts is None else ts}"
        f"&auth_version=1.0&body_md5={hashlib.md5(body).hexdigest()}"
    )
    sig = hmac.new(secret.encode(), f"POST\n{path}\n{query}".encode(), hashlib.sha256).hexdigest()
    return f"{path}?{query}&auth_signature={sig}"


def event_data(seq: int, t_ns: int, pad: str) -> str:
    """The event's ``data`` string: JSON with a sequence number and the trigger timestamp."""
    return f'{{"seq":{seq},"t":{t_ns},"pad":"{pad}"}}'


def match_update_data(seq: int, t_ns: int, pad: str) -> str:
    """A compact ``match.update`` as the poller publishes it (event-schema.md), plus the
    sequence number and trigger time the load generator reads: 335 bytes of ``data``."""
    minute, second = divmod(seq % 5400, 60)
    return (
        '{"match_id":12345,"sport_id":"football","league_id":"premier-league","status":"live",'
        f'"home_team":{{"id":101,"name":"Team A","score":{seq % 7}}},'
        f'"away_team":{{"id":102,"name":"Team B","score":{seq % 5}}},'
        f'"period":"2nd Half","time":"{minute:02d}:{second:02d}",'
        f'"last_updated":"2025-05-14T01:35:00Z","seq":{seq},"t":{t_ns}}}'
    )


class _HttpProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"HTTP connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._try_complete()

    def _try_complete(self) -> None:
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0 or self.waiter is None:
            return
        head = self.buf[:head_end].decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body_start = head_end + 4
        if "content-length" in headers:
            end = body_start + int(headers["content-length"])
            if len(self.buf) < end:
                return
            body = self.buf[body_start:end]
            self.buf = self.buf[end:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body_parts: list[bytes] = []
            pos = body_start
            while True:
                line_end = self.buf.find(b"\r\n", pos)
                if line_end < 0:
                    return
                size = int(self.buf[pos:line_end].split(b";")[0], 16)
                if len(self.buf) < line_end + 2 + size + 2:
                    return
                body_parts.append(self.buf[line_end + 2 : line_end + 2 + size])
                pos = line_end + 2 + size + 2
                if size == 0:
                    break
            body = b"".join(body_parts)
            self.buf = self.buf[pos:]
        else:
            body = self.buf[body_start:]
            self.buf = b""
        if headers.get("connection", "").lower() == "close" and self.transport is not None:
            self.transport.close()
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((status, body))


class HttpClient:
    """One keep-alive HTTP/1.1 connection; one request at a time; reconnects when closed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._proto: _HttpProtocol | None = None

    async def _connection(self) -> _HttpProtocol:
        if self._proto is None or self._proto.closed:
            loop = asyncio.get_running_loop()
            _, proto = await loop.create_connection(_HttpProtocol, "127.0.0.1", self.port)
            self._proto = proto
        return self._proto

    async def request(
        self, method: str, target: str, body: bytes = b"", timeout: float = 30.0
    ) -> tuple[int, bytes]:
        proto = await self._connection()
        assert proto.transport is not None
        fut: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        proto.waiter = fut
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        proto.transport.write(head + body)
        try:
            return await asyncio.wait_for(fut, timeout)
        except BaseException:
            proto.transport.close()
            self._proto = None
            raise

    def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None


class Publisher:
    """Triggers ``bench.ev`` events on one channel; tracks accepted and failed publishes."""

    def __init__(
        self,
        port: int,
        app_id: str,
        key: str,
        secret: str,
        channel: str,
        pad_bytes: int,
        connections: int,
        data_for: Callable[[int, int, str], str] = event_data,
    ) -> None:
        self.app_id = app_id
        self.key = key
        self.secret = secret
        self.channel = channel
        self.pad = "x" * pad_bytes
        self.clients = [HttpClient(port) for _ in range(connections)]
        self.data_for = data_for
        self.next_seq = 0
        self.accepted = 0
        self.failed = 0
        self.failures: list[str] = []

    async def publish(self, client: HttpClient) -> bool:
        seq = self.next_seq
        self.next_seq += 1
        t_ns = time.time_ns()  # CLOCK_REALTIME, like kernel receive timestamps
        body = orjson.dumps(
            {
                "name": EVENT_NAME,
                "channels": [self.channel],
                "data": self.data_for(seq, t_ns, self.pad),
            }
        )
        target = signed_target(self.app_id, self.key, self.secret, body)
        try:
            status, resp = await client.request("POST", target, body)
        except (OSError, TimeoutError) as exc:
            status, resp = 0, repr(exc).encode()
        if status == 200:
            self.accepted += 1
            return True
        self.failed += 1
        if len(self.failures) < 20:
            self.failures.append(f"seq {seq}: HTTP {status} {resp[:200]!r}")
        return False

    def close(self) -> None:
        for c in self.clients:
            c.close()
