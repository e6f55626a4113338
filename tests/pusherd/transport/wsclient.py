"""Test clients for the ``/app/{key}`` WebSocket: a ``websockets`` client and a raw TCP one.

:class:`PusherSocket` wraps a ``websockets`` connection and speaks Pusher frames as dicts, with
bounded waits everywhere. :class:`RawSocket` does its own handshake and framing over asyncio
streams, so nothing answers the server's WebSocket pings behind the test's back (checklist E45).
Both close themselves when used as async context managers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Protocol

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin


class PusherServer(Protocol):
    """What these clients need of a server: an in-process ``PusherServer`` or a pusherd
    process the e2e tests start (``tests/e2e/nodes.NodeProcess``)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def secret(self) -> str: ...
    def ws_url(self, key: str | None = None, query: str = "protocol=7") -> str: ...


__all__ = [
    "FRAME_TIMEOUT_S",
    "QUIET_S",
    "PusherSocket",
    "RawSocket",
    "assert_error_frame",
    "assert_no_error_logged",
    "open_socket",
    "presence_auth",
    "private_auth",
    "sign",
]

#: Upper bound for any frame the test expects.
FRAME_TIMEOUT_S = 2.0
#: The one short wait of a "nothing arrives" check.
QUIET_S = 0.3


def sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def private_auth(server: PusherServer, socket_id: str, channel: str) -> str:
    """The ``auth`` token an auth endpoint returns for a private channel (§5.1)."""
    return f"{server.key}:{sign(server.secret, f'{socket_id}:{channel}')}"


def presence_auth(server: PusherServer, socket_id: str, channel: str, channel_data: str) -> str:
    """The ``auth`` token for a presence channel over the exact ``channel_data`` bytes (§5.2)."""
    return f"{server.key}:{sign(server.secret, f'{socket_id}:{channel}:{channel_data}')}"


def assert_error_frame(frame: dict[str, Any], code: int | None) -> str:
    """A ``pusher:error`` with object data, the given code and a string message (checklist F50)."""
    assert frame.get("event") == "pusher:error", frame
    assert "channel" not in frame, frame
    data = frame.get("data")
    assert isinstance(data, dict), frame
    assert set(data) == {"code", "message"}, frame
    assert data["code"] == code, frame
    assert type(data["code"]) in (int, type(None)), frame
    message = data["message"]
    assert isinstance(message, str) and message, frame
    return message


def assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing at ERROR and no traceback: bad input is answered, never crashes a handler."""
    bad = [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info or "Fatal error" in record.message
    ]
    assert not bad, [record.getMessage() for record in bad]


class PusherSocket:
    """A connected ``websockets`` client that has received its first frame."""

    def __init__(self, connection: ClientConnection, first: dict[str, Any]) -> None:
        self.connection = connection
        self.first = first
        self.socket_id = ""
        if first.get("event") == "pusher:connection_established":
            self.socket_id = json.loads(first["data"])["socket_id"]

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, dict):
            await self.connection.send(json.dumps(frame))
        else:
            await self.connection.send(frame)

    async def recv_raw(self, timeout: float = FRAME_TIMEOUT_S) -> str | bytes:
        return await asyncio.wait_for(self.connection.recv(), timeout)

    async def recv(self, timeout: float = FRAME_TIMEOUT_S) -> dict[str, Any]:
        raw = await self.recv_raw(timeout)
        frame = json.loads(raw)
        assert isinstance(frame, dict), raw
        return frame

    async def expect_nothing(self, timeout: float = QUIET_S) -> None:
        """No frame arrives within ``timeout`` (one short bounded wait)."""
        try:
            raw = await asyncio.wait_for(self.connection.recv(), timeout)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame: {raw!r}")

    async def expect_closed(self, code: int, timeout: float = FRAME_TIMEOUT_S) -> None:
        """The server closes the socket with ``code`` and sends no more frames first."""
        try:
            raw = await asyncio.wait_for(self.connection.recv(), timeout)
        except ConnectionClosed:
            pass
        else:
            raise AssertionError(f"expected close {code}, got frame {raw!r}")
        await asyncio.wait_for(self.connection.wait_closed(), timeout)
        assert self.connection.close_code == code, (
            self.connection.close_code,
            self.connection.close_reason,
        )

    async def expect_refused(self, code: int) -> str:
        """``pusher:error`` with ``code``, then a close with the same code (§1.2, §3.2)."""
        message = assert_error_frame(await self.recv(), code)
        await self.expect_closed(code)
        return message

    async def ping(self) -> None:
        """``pusher:ping`` is answered with exactly ``pusher:pong`` (checklist E43)."""
        await self.send({"event": "pusher:ping", "data": {}})
        frame = await self.recv()
        assert frame == {"event": "pusher:pong", "data": {}}, frame

    async def subscribe(
        self, channel: str, auth: str = "", channel_data: str | None = None
    ) -> dict[str, Any]:
        """Send ``pusher:subscribe`` and return the reply frame, whatever it is."""
        data: dict[str, Any] = {"auth": auth, "channel": channel}
        if channel_data is not None:
            data["channel_data"] = channel_data
        await self.send({"event": "pusher:subscribe", "data": data})
        return await self.recv()

    async def subscribed(
        self, channel: str, auth: str = "", channel_data: str | None = None
    ) -> dict[str, Any]:
        """Subscribe and assert success; returns the decoded ``data`` of the success frame."""
        frame = await self.subscribe(channel, auth, channel_data)
        assert frame["event"] == "pusher_internal:subscription_succeeded", frame
        assert frame["channel"] == channel, frame
        assert isinstance(frame["data"], str), frame
        decoded = json.loads(frame["data"])
        assert isinstance(decoded, dict), frame
        return decoded

    async def subscribe_private(self, server: PusherServer, channel: str) -> dict[str, Any]:
        return await self.subscribed(channel, private_auth(server, self.socket_id, channel))

    async def subscribe_presence(
        self, server: PusherServer, channel: str, channel_data: str
    ) -> dict[str, Any]:
        """Subscribe a presence channel; returns the decoded ``presence`` object."""
        auth = presence_auth(server, self.socket_id, channel, channel_data)
        decoded = await self.subscribed(channel, auth, channel_data)
        presence = decoded["presence"]
        assert isinstance(presence, dict), decoded
        return presence

    async def unsubscribe(self, channel: str) -> None:
        await self.send({"event": "pusher:unsubscribe", "data": {"channel": channel}})

    async def close(self) -> None:
        await self.connection.close()


@asynccontextmanager
async def open_socket(
    server: PusherServer,
    *,
    key: str | None = None,
    query: str = "protocol=7",
    path: str | None = None,
    origin: str | None = None,
    established: bool = True,
    max_size: int | None = 2**20,
) -> AsyncIterator[PusherSocket]:
    """Connect, read the first frame and (by default) assert it is ``connection_established``."""
    url = server.ws_url(key, query) if path is None else f"ws://{server.host}:{server.port}{path}"
    connection = await connect(
        url,
        origin=None if origin is None else Origin(origin),
        ping_interval=None,
        open_timeout=FRAME_TIMEOUT_S,
        close_timeout=FRAME_TIMEOUT_S,
        max_size=max_size,
    )
    try:
        raw = await asyncio.wait_for(connection.recv(), FRAME_TIMEOUT_S)
        client = PusherSocket(connection, json.loads(raw))
        if established:
            assert client.first["event"] == "pusher:connection_established", client.first
        yield client
    finally:
        await connection.close()


class RawSocket:
    """A WebSocket client on bare asyncio streams: the test sees (and answers) every frame."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls, server: PusherServer, query: str = "protocol=7", *, rcvbuf: int | None = None
    ) -> RawSocket:
        """Open a TCP connection, upgrade it and check the 101; ``rcvbuf`` caps SO_RCVBUF."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (server.host, server.port))
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock)
        raw = cls(reader, writer)
        try:
            await raw._handshake(server, query)
        except BaseException:
            await raw.close()
            raise
        return raw

    async def _handshake(self, server: PusherServer, query: str) -> None:
        nonce = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /app/{server.key}?{query} HTTP/1.1\r\n"
            f"Host: {server.host}:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.writer.write(request.encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), FRAME_TIMEOUT_S)
        assert head.startswith(b"HTTP/1.1 101"), head
        accept = base64.b64encode(
            hashlib.sha1((nonce + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        )
        assert b"sec-websocket-accept: " + accept.lower() in head.lower(), head

    async def recv_frame(self, timeout: float = FRAME_TIMEOUT_S) -> tuple[int, bytes]:
        """The next (opcode, payload); server frames are unmasked and unfragmented here."""

        async def read() -> tuple[int, bytes]:
            head = await self.reader.readexactly(2)
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            assert head[1] & 0x80 == 0, "server frames must not be masked"
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            return opcode, await self.reader.readexactly(length)

        return await asyncio.wait_for(read(), timeout)

    async def recv_json(self, timeout: float = FRAME_TIMEOUT_S) -> dict[str, Any]:
        """The next text frame as JSON, skipping nothing: a control frame fails the test."""
        opcode, payload = await self.recv_frame(timeout)
        assert opcode == 0x1, (opcode, payload)
        frame = json.loads(payload)
        assert isinstance(frame, dict), payload
        return frame

    def send_frames(self, *frames: tuple[int, bytes]) -> None:
        """Several final, masked frames in one write (so they usually arrive in one read)."""
        self.writer.write(b"".join(self._frame(opcode, payload) for opcode, payload in frames))

    def send_frame(
        self, opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True
    ) -> None:
        """One client frame, final and masked unless told otherwise (RFC 6455 §5.2, §5.3)."""
        self.writer.write(self._frame(opcode, payload, fin=fin, masked=masked))

    @staticmethod
    def _frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
        first = (0x80 if fin else 0) | opcode
        bit = 0x80 if masked else 0
        length = len(payload)
        if length < 126:
            head = bytes((first, bit | length))
        elif length < 65536:
            head = struct.pack("!BBH", first, bit | 126, length)
        else:
            head = struct.pack("!BBQ", first, bit | 127, length)
        if not masked:
            return head + payload
        mask = os.urandom(4)
        body = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        return head + mask + body

    def send_json(self, frame: dict[str, Any]) -> None:
        self.send_frame(0x1, json.dumps(frame).encode())

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def __aenter__(self) -> RawSocket:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
