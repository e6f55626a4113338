"""permessage-deflate (RFC 7692): negotiation, compress-once fan-out, and the inflate bound."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import zlib
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from pusherd.protocol.wsframes import (
    OP_CLOSE,
    OP_TEXT,
    FrameReader,
    WebSocketProtocolError,
    text_frame,
)
from pusherd.transport.deflate import SharedDeflater, negotiate
from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import FRAME_TIMEOUT_S, private_auth
from tests.servers import RunningServer

_BOTH = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


@pytest.mark.parametrize(
    ("offer", "response"),
    [
        pytest.param("permessage-deflate", _BOTH, id="bare"),
        pytest.param("permessage-deflate; client_max_window_bits", _BOTH, id="chromium-and-ws"),
        pytest.param("permessage-deflate; client_max_window_bits=10", _BOTH, id="client-bits"),
        pytest.param(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            _BOTH,
            id="both-no-context-takeover",
        ),
        pytest.param(
            "permessage-deflate; server_max_window_bits=10",
            f"{_BOTH}; server_max_window_bits=10",
            id="server-bits-echoed",
        ),
        pytest.param(
            'permessage-deflate; server_max_window_bits="12"',
            f"{_BOTH}; server_max_window_bits=12",
            id="quoted-value",
        ),
        pytest.param(
            "permessage-deflate; server_max_window_bits=8, permessage-deflate",
            _BOTH,
            id="8-bit-window-declined-next-offer-taken",
        ),
        pytest.param("x-webkit-deflate-frame, permessage-deflate", _BOTH, id="other-first"),
        pytest.param("permessage-deflate; foo=1", None, id="unknown-parameter"),
        pytest.param(
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            None,
            id="repeated-parameter",
        ),
        pytest.param("permessage-deflate; server_no_context_takeover=1", None, id="value-on-flag"),
        pytest.param("permessage-deflate; server_max_window_bits", None, id="bits-without-value"),
        pytest.param("permessage-deflate; server_max_window_bits=16", None, id="bits-too-big"),
        pytest.param("permessage-deflate; client_max_window_bits=7", None, id="client-bits-small"),
        pytest.param("x-webkit-deflate-frame", None, id="no-permessage-deflate"),
        pytest.param("", None, id="empty"),
    ],
)
def test_negotiation_takes_the_first_acceptable_offer(offer: str, response: str | None) -> None:
    """RFC 7692 §5.1, §7.1: the first offer whose parameters are all valid is accepted; the
    answer always carries both no_context_takeover parameters, and server_max_window_bits when
    the client limited our window (§7.1.2.1)."""
    params = negotiate(offer, 256)
    assert (params.response if params is not None else None) == response


def _inflate(frame: bytes) -> bytes:
    assert frame[0] == 0xC1, "final text frame with RSV1 (compressed)"
    length = frame[1]
    start = 2 if length < 126 else 4
    return zlib.decompressobj(-15).decompress(frame[start:] + b"\x00\x00\xff\xff")


def test_an_event_is_compressed_once_for_every_subscriber() -> None:
    """The same frame object gives the same compressed object; a new event compresses again,
    and on its own (server_no_context_takeover: it inflates with a fresh inflater)."""
    deflater = SharedDeflater()
    payload = json.dumps({"event": "match.update", "data": "x" * 400}).encode()
    plain = text_frame(payload)
    first = deflater.frame(plain, 15)
    assert all(deflater.frame(plain, 15) is first for _ in range(1000))
    assert deflater.compressed_count == 1
    assert _inflate(first) == payload
    other = text_frame(payload.replace(b"x", b"y"))
    assert _inflate(deflater.frame(other, 15)) == payload.replace(b"x", b"y")
    assert _inflate(deflater.frame(other, 10)) == payload.replace(b"x", b"y")
    assert deflater.compressed_count == 3


def test_incompressible_frames_go_out_plain() -> None:
    deflater = SharedDeflater()
    plain = text_frame(os.urandom(300))  # the deflater does not read the bytes it compresses
    assert deflater.frame(plain, 15) is plain


def _compressed(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert body.endswith(b"\x00\x00\xff\xff")
    return body[:-4]


def _client_frame(first: int, payload: bytes) -> bytes:
    """A masked client frame (zero mask: the payload stays as it is)."""
    length = len(payload)
    if length < 126:
        head = bytes((first, 0x80 | length))
    elif length < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, length)
    return head + b"\x00\x00\x00\x00" + payload


def test_reader_inflates_compressed_messages_whole_and_fragmented() -> None:
    """RFC 7692 §6: RSV1 on the first frame marks the message compressed, fragments included."""
    message = b'{"event":"pusher:ping","data":{}}'
    body = _compressed(message)
    reader = FrameReader(1024, is_deflate=True)
    assert reader.feed(_client_frame(0xC1, body)) == [(OP_TEXT, message)]
    parts = _client_frame(0x41, body[:5]) + _client_frame(0x80, body[5:])
    assert reader.feed(parts) == [(OP_TEXT, message)]
    assert reader.feed(_client_frame(0x81, message)) == [(OP_TEXT, message)]


@pytest.mark.parametrize(
    ("data", "is_deflate", "code"),
    [
        pytest.param(_client_frame(0xC1, _compressed(b"{}")), False, 1002, id="rsv1-not-agreed"),
        pytest.param(_client_frame(0xA1, b"{}"), True, 1002, id="rsv2"),
        pytest.param(_client_frame(0xC9, b""), True, 1002, id="rsv1-on-ping"),
        pytest.param(
            _client_frame(0x01, b"{") + _client_frame(0xC0, b"}"),
            True,
            1002,
            id="rsv1-on-continuation",
        ),
        pytest.param(_client_frame(0xC1, b"\xff\xff\xff"), True, 1007, id="not-deflate-data"),
        pytest.param(
            _client_frame(0xC1, _compressed(b"a" * 5000)), True, 1009, id="inflates-past-bound"
        ),
    ],
)
def test_reader_refuses_bad_compressed_input(data: bytes, is_deflate: bool, code: int) -> None:
    reader = FrameReader(4096, is_deflate=is_deflate)
    with pytest.raises(WebSocketProtocolError) as caught:
        reader.feed(data)
    assert caught.value.close_code == code


def test_zip_bomb_is_refused_without_inflating_it() -> None:
    """64 MiB of zeros deflate to ~64 KiB; the reader stops at the bound + 1 byte of output."""
    bomb = _compressed(bytes(64 * 1024 * 1024))
    reader = FrameReader(len(bomb) + 100, is_deflate=True)
    with pytest.raises(WebSocketProtocolError) as caught:
        reader.feed(_client_frame(0xC1, bomb))
    assert caught.value.close_code == 1009


class _DeflateClient:
    """A raw client that offers permessage-deflate and reads frames as sent (RSV bits kept)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.head = b""
        self.socket_id = ""

    @classmethod
    async def open(cls, server: RunningServer, offer: str | None) -> _DeflateClient:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        client = cls(reader, writer)
        extension = "" if offer is None else f"Sec-WebSocket-Extensions: {offer}\r\n"
        writer.write(
            (
                f"GET /app/{server.key}?protocol=7 HTTP/1.1\r\nHost: {server.host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extension}\r\n"
            ).encode()
        )
        client.head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), FRAME_TIMEOUT_S)
        assert client.head.startswith(b"HTTP/1.1 101"), client.head
        first, _ = await client.frame()
        client.socket_id = json.loads(json.loads(first[2:])["data"])["socket_id"]
        return client

    async def frame(self) -> tuple[bytes, bytes]:
        """(the frame's bytes as sent, its payload inflated if RSV1 is set)."""

        async def read() -> tuple[bytes, bytes]:
            head = await self.reader.readexactly(2)
            length = head[1] & 0x7F
            extra = b""
            if length == 126:
                extra = await self.reader.readexactly(2)
                (length,) = struct.unpack("!H", extra)
            payload = await self.reader.readexactly(length)
            raw = head + extra + payload
            if head[0] & 0x40:
                return raw, zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
            return raw, payload

        return await asyncio.wait_for(read(), FRAME_TIMEOUT_S)

    async def json(self) -> dict[str, Any]:
        _, payload = await self.frame()
        decoded = json.loads(payload)
        assert isinstance(decoded, dict)
        return decoded

    def send(self, frame: dict[str, Any], *, compress: bool = False) -> None:
        payload = json.dumps(frame).encode()
        if compress:
            self.writer.write(_client_frame(0xC1, _compressed(payload)))
        else:
            self.writer.write(_client_frame(0x81, payload))

    async def subscribe(self, server: RunningServer, channel: str) -> None:
        auth = private_auth(server, self.socket_id, channel)
        self.send({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth}})
        reply = await self.json()
        assert reply["event"] == "pusher_internal:subscription_succeeded", reply

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def _extensions_header(head: bytes) -> str | None:
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-extensions":
            return value.strip()
    return None


async def test_large_events_reach_subscribers_compressed_once_small_ones_plain(
    pusherd_server: RunningServer,
) -> None:
    """Two subscribers that negotiated deflate get byte-identical compressed frames (one
    compression), a third without deflate the plain frame; under 256 bytes nothing is
    compressed. The sender's own compressed client event is inflated by the server."""
    channel = "private-deflate"
    offer = "permessage-deflate; client_max_window_bits"
    sender = await _DeflateClient.open(pusherd_server, offer)
    first = await _DeflateClient.open(pusherd_server, offer)
    second = await _DeflateClient.open(pusherd_server, offer)
    plain = await _DeflateClient.open(pusherd_server, None)
    try:
        assert _extensions_header(first.head) == _BOTH
        assert _extensions_header(plain.head) is None
        for client in (sender, first, second, plain):
            await client.subscribe(pusherd_server, channel)
        big = {"event": "client-update", "channel": channel, "data": {"score": "1-0" * 200}}
        sender.send(big, compress=True)
        raw_first, payload_first = await first.frame()
        raw_second, _ = await second.frame()
        raw_plain, payload_plain = await plain.frame()
        assert raw_first[0] == 0xC1 and raw_first == raw_second
        assert raw_plain[0] == 0x81 and payload_plain == payload_first
        assert len(raw_first) * 2 < len(raw_plain)
        # Client event data is relayed as a JSON string (reference §6).
        assert json.loads(json.loads(payload_first)["data"]) == big["data"]
        small = {"event": "client-update", "channel": channel, "data": {"score": "2-0"}}
        sender.send(small)
        raw_small, _ = await first.frame()
        assert raw_small[0] == 0x81
    finally:
        for client in (sender, first, second, plain):
            await client.close()


async def test_compressed_zip_bomb_closes_1009(start_pusherd: StartPusherd) -> None:
    """A message that inflates past ``max_ws_frame_bytes`` is closed with 1009, not inflated."""
    server = await start_pusherd(max_ws_frame_bytes=65_536)
    client = await _DeflateClient.open(server, "permessage-deflate")
    try:
        client.writer.write(_client_frame(0xC1, _compressed(bytes(16 * 1024 * 1024))))
        raw, payload = await client.frame()
        assert raw[0] & 0x0F == OP_CLOSE and int.from_bytes(payload[:2], "big") == 1009
    finally:
        await client.close()


async def test_per_app_switch_turns_compression_off(start_pusherd: StartPusherd) -> None:
    server = await start_pusherd(compression_enabled=False)
    client = await _DeflateClient.open(server, "permessage-deflate")
    try:
        assert _extensions_header(client.head) is None
    finally:
        await client.close()


@pytest.mark.parametrize(
    "factory",
    [
        pytest.param(ClientPerMessageDeflateFactory(), id="default-offer"),
        pytest.param(ClientPerMessageDeflateFactory(server_max_window_bits=10), id="server-bits"),
        pytest.param(
            ClientPerMessageDeflateFactory(client_no_context_takeover=True), id="client-no-context"
        ),
        pytest.param(
            ClientPerMessageDeflateFactory(
                server_no_context_takeover=True, client_max_window_bits=9
            ),
            id="server-no-context-client-bits",
        ),
    ],
)
async def test_websockets_client_negotiates_and_round_trips(
    pusherd_server: RunningServer, factory: ClientPerMessageDeflateFactory
) -> None:
    """The ``websockets`` client accepts our answer for each of its offers, and large frames
    both ways survive compression (its own outbound messages are compressed too)."""
    url = pusherd_server.ws_url()
    async with (
        connect(url, extensions=[factory], compression=None, open_timeout=FRAME_TIMEOUT_S) as a,
        connect(url, extensions=[factory], compression=None, open_timeout=FRAME_TIMEOUT_S) as b,
    ):
        assert a.response is not None
        assert a.response.headers["Sec-WebSocket-Extensions"].startswith(_BOTH)
        ids = []
        for ws in (a, b):
            established = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT_S))
            ids.append(json.loads(established["data"])["socket_id"])
        channel = "private-ws-deflate"
        for ws, socket_id in zip((a, b), ids, strict=True):
            auth = private_auth(pusherd_server, socket_id, channel)
            await ws.send(
                json.dumps(
                    {"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth}}
                )
            )
            reply = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT_S))
            assert reply["event"] == "pusher_internal:subscription_succeeded", reply
        data = {"text": "goal " * 300}
        await a.send(json.dumps({"event": "client-x", "channel": channel, "data": data}))
        got = json.loads(await asyncio.wait_for(b.recv(), FRAME_TIMEOUT_S))
        assert got["event"] == "client-x" and json.loads(got["data"]) == data
