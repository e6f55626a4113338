"""The plain-upgrade fast path answers exactly as ``websockets`` would, or stands aside."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from websockets.http11 import Request
from websockets.server import ServerProtocol

from pusherd.transport.handshake import (
    HttpDate,
    accept_response,
    parse_plain_upgrade,
    query_value,
)

_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def _request(*headers: str, target: str = "/app/key?protocol=7", method: str = "GET") -> bytes:
    """The request as uvicorn writes it out for the upgrade: lower-cased names, ``: ``."""
    lines = [f"{method} {target} HTTP/1.1", "host: 127.0.0.1:1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_PLAIN = ("upgrade: websocket", "connection: Upgrade", f"sec-websocket-key: {_KEY}")
_VERSION = "sec-websocket-version: 13"


def _websockets_answer(data: bytes) -> bytes:
    protocol = ServerProtocol()
    protocol.receive_data(data)
    (request,) = protocol.events_received()
    assert isinstance(request, Request)
    protocol.send_response(protocol.accept(request))
    return b"".join(protocol.data_to_send())


def _without_date(response: bytes) -> bytes:
    return b"\r\n".join(line for line in response.split(b"\r\n") if not line.startswith(b"Date:"))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param((*_PLAIN, _VERSION), id="pusher-js-in-node"),
        pytest.param(
            (
                "upgrade: WebSocket",
                "connection: keep-alive, Upgrade",
                f"sec-websocket-key: {_KEY}",
                _VERSION,
                "origin: https://a.example",
            ),
            id="firefox",
        ),
        pytest.param(
            (
                *_PLAIN,
                _VERSION,
                "sec-websocket-extensions: permessage-deflate; client_max_window_bits",
            ),
            id="chromium-offering-deflate",
        ),
    ],
)
def test_plain_upgrade_gets_the_response_websockets_sends(headers: tuple[str, ...]) -> None:
    """RFC 6455 §4.2.2: 101 with ``Sec-WebSocket-Accept`` = base64(SHA-1(key + GUID)), header
    for header what the full parser answers (the ``Date`` aside, which moves)."""
    data = _request(*headers)
    upgrade = parse_plain_upgrade(data)
    assert upgrade is not None
    assert upgrade.target == "/app/key?protocol=7"
    ours = accept_response(upgrade, b"Wed, 02 Dec 2026 15:18:10 GMT")
    assert _without_date(ours) == _without_date(_websockets_answer(data))
    assert b"\r\nDate: Wed, 02 Dec 2026 15:18:10 GMT\r\n" in ours


def test_rfc_6455_sample_key() -> None:
    """RFC 6455 §1.3's worked example: that key is accepted as ``s3pPLMBiTxaQ9kYGzzhZRbK+xOo=``."""
    upgrade = parse_plain_upgrade(_request(*_PLAIN, _VERSION))
    assert upgrade is not None and upgrade.accept_key == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_request(*_PLAIN, _VERSION)[:-2], id="incomplete"),
        pytest.param(_request(*_PLAIN, _VERSION, method="POST"), id="not-get"),
        pytest.param(_request(*_PLAIN), id="no-version"),
        pytest.param(_request(*_PLAIN, "sec-websocket-version: 8"), id="old-version"),
        pytest.param(_request("upgrade: websocket", "connection: Upgrade", _VERSION), id="no-key"),
        pytest.param(
            _request(
                "upgrade: websocket", "connection: Upgrade", "sec-websocket-key: c2hvcnQ=", _VERSION
            ),
            id="key-not-16-bytes",
        ),
        pytest.param(
            _request(
                "upgrade: websocket", "connection: Upgrade", "sec-websocket-key: !!!!", _VERSION
            ),
            id="key-not-base64",
        ),
        pytest.param(_request(*_PLAIN, _VERSION, f"sec-websocket-key: {_KEY}"), id="two-keys"),
        pytest.param(
            _request(*_PLAIN, _VERSION, "origin: http://a.example", "origin: http://b.example"),
            id="two-origins",
        ),
        pytest.param(
            _request("upgrade: h2c", "connection: Upgrade", f"sec-websocket-key: {_KEY}", _VERSION),
            id="other-upgrade",
        ),
        pytest.param(
            _request(
                "upgrade: websocket", "connection: close", f"sec-websocket-key: {_KEY}", _VERSION
            ),
            id="connection-without-upgrade",
        ),
        pytest.param(_request(*_PLAIN, _VERSION, "content-length: 5"), id="a-body"),
        pytest.param(_request(*_PLAIN, _VERSION, "sec-websocket-protocol: chat"), id="subprotocol"),
        pytest.param(_request(*_PLAIN, _VERSION, "x-bad-header"), id="header-without-colon"),
        pytest.param(_request(*_PLAIN, _VERSION, target="/app/k é"), id="target-with-space"),
    ],
)
def test_anything_unusual_is_left_to_websockets(data: bytes) -> None:
    """Not the plain kind: ``None``, so ``websockets`` decides and words the answer as before."""
    assert parse_plain_upgrade(data) is None


def test_http_date_is_formatted_once_a_second() -> None:
    """RFC 9110 §5.6.7 IMF-fixdate; the same bytes object within one second."""
    dates = HttpDate()
    first = dates.at(1_796_224_652.1)
    assert first == b"Wed, 02 Dec 2026 15:17:32 GMT"
    assert dates.at(1_796_224_652.9) is first
    assert dates.at(1_796_224_653.0) == b"Wed, 02 Dec 2026 15:17:33 GMT"


@pytest.mark.parametrize(
    "query",
    [
        "protocol=7&client=js&version=8.6.0&flash=false",
        "",
        "protocol",
        "protocol=",
        "protocol=7&protocol=8",
        "protocol=7=8",
        "client=js",
        "protocol=%37",
        "protocol=+7",
        "a=1&&protocol=6&",
        "PROTOCOL=7",
    ],
)
def test_query_value_reads_what_parse_qsl_reads(query: str) -> None:
    """The version check sees the same ``protocol`` value as ``dict(parse_qsl(query))``."""
    assert query_value(query, "protocol") == dict(parse_qsl(query)).get("protocol")
