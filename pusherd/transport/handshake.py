"""The opening handshake of a plain, valid upgrade request, answered without a second parser.

uvicorn has already parsed the request with httptools; it hands the upgrade over by writing the
request out again (``METHOD TARGET HTTP/1.1``, one lower-cased ``name: value`` line per header)
and feeding those bytes to our protocol. Parsing them again with ``websockets``' generator-based
``ServerProtocol`` cost about 40% of the server's CPU per connection (py-spy, issue 12), more
than the rest of connection set-up. This module reads that simple form directly and answers the
request that every client sends: ``GET``, one ``Upgrade: websocket``, ``Connection`` naming
``upgrade``, one valid ``Sec-WebSocket-Key`` (RFC 6455 §4.2.1), ``Sec-WebSocket-Version: 13``,
at most one ``Origin``, no body and no subprotocol. Anything else returns ``None``, and the
caller hands the bytes to ``websockets``, which decides (and words the refusal) exactly as before,
so behaviour on odd requests does not change.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from pusherd.protocol.errors import CloseCode, ConnectionRefused

__all__ = [
    "HttpDate",
    "PlainUpgrade",
    "accept_response",
    "app_key_and_query",
    "parse_plain_upgrade",
    "protocol_error",
    "query_value",
]

_SUPPORTED_VERSIONS = frozenset(("5", "6", "7"))
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Headers that only matter when present once; any repeat goes to the full parser.
_SINGLE = frozenset(
    (
        b"upgrade",
        b"connection",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"origin",
        b"sec-websocket-extensions",
    )
)
#: Any of these means the request is not the plain kind (a body, a subprotocol to negotiate).
_NOT_PLAIN = frozenset((b"content-length", b"transfer-encoding", b"sec-websocket-protocol"))
#: ``Connection`` values browsers and the usual clients send (Firefox: ``keep-alive, Upgrade``).
_CONNECTION_UPGRADE = frozenset((b"upgrade", b"keep-alive, upgrade", b"upgrade, keep-alive"))


@dataclass(frozen=True, slots=True)
class PlainUpgrade:
    """What the server needs from an accepted upgrade request."""

    target: str
    origin: str | None
    accept_key: str
    #: The raw ``Sec-WebSocket-Extensions`` offer, if any (read by permessage-deflate).
    extensions: str | None


def parse_plain_upgrade(data: bytes) -> PlainUpgrade | None:
    """The upgrade request in ``data`` if it is complete and of the plain kind, else ``None``."""
    if not data.endswith(b"\r\n\r\n"):
        return None
    lines = data[:-4].split(b"\r\n")
    request_line = lines[0]
    if not request_line.startswith(b"GET ") or not request_line.endswith(b" HTTP/1.1"):
        return None
    raw_target = request_line[4:-9]
    if b" " in raw_target or not raw_target.isascii():
        return None
    found: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            return None
        name = name.lower()
        if name in _SINGLE:
            if name in found:
                return None
            found[name] = value.strip()
        elif name in _NOT_PLAIN:
            return None
    if found.get(b"upgrade", b"").lower() != b"websocket":
        return None
    if found.get(b"connection", b"").lower() not in _CONNECTION_UPGRADE:
        return None
    if found.get(b"sec-websocket-version") != b"13":
        return None
    key = found.get(b"sec-websocket-key")
    if key is None:
        return None
    try:
        # Stricter than websockets' b64decode(validate=True) (padding too), never looser: a key
        # refused here goes to websockets, which decides as before.
        raw_key = binascii.a2b_base64(key, strict_mode=True)
    except binascii.Error:
        return None
    if len(raw_key) != 16:
        return None
    origin = found.get(b"origin")
    extensions = found.get(b"sec-websocket-extensions")
    try:
        return PlainUpgrade(
            target=raw_target.decode("ascii"),
            origin=None if origin is None else origin.decode("ascii"),
            accept_key=base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode("ascii"),
            extensions=None if extensions is None else extensions.decode("ascii"),
        )
    except UnicodeDecodeError:
        return None


class HttpDate:
    """The HTTP ``Date`` value, formatted once a second rather than once a connection."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = b""

    def at(self, now: float) -> bytes:
        second = int(now)
        if second != self._second:
            self._second = second
            self._text = email.utils.formatdate(second, usegmt=True).encode("ascii")
        return self._text


def accept_response(upgrade: PlainUpgrade, date: bytes, extensions: str | None = None) -> bytes:
    """The ``101 Switching Protocols`` response, header for header what ``websockets`` sends.

    ``date`` is the ``Date`` header's value (:class:`HttpDate`); ``extensions`` the negotiated
    ``Sec-WebSocket-Extensions`` value, if any.
    """
    extra = b"" if extensions is None else b"Sec-WebSocket-Extensions: %s\r\n" % extensions.encode()
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nDate: %s\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
        % (date, upgrade.accept_key.encode("ascii"), extra)
    )


def app_key_and_query(target: str, prefix: str) -> tuple[str, str] | None:
    """``(app key, query)`` of a ``{prefix}{key}`` target, or None for any other path."""
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "//[::1/app/…": not a path we serve
        return None
    key = parts.path[len(prefix) :] if parts.path.startswith(prefix) else ""
    if not key or "/" in key:
        return None
    return key, parts.query


def query_value(query: str, name: str) -> str | None:
    """``dict(parse_qsl(query)).get(name)``, without decoding every pair of a plain query."""
    if "%" in query or "+" in query:
        return dict(parse_qsl(query)).get(name)
    value = None
    for pair in query.split("&"):
        key, sep, text = pair.partition("=")
        # parse_qsl drops pairs with no "=" or an empty value; the last repeat wins in a dict.
        if sep and text and key == name:
            value = text
    return value


def protocol_error(version: str | None) -> ConnectionRefused | None:
    """The §1.2 version checks: missing 4008, not an integer 4006, outside 5–7 4007."""
    if version is None or version == "":
        return ConnectionRefused(CloseCode.NO_VERSION, "No protocol version supplied")
    if not (version.isascii() and version.isdigit()):
        return ConnectionRefused(CloseCode.INVALID_VERSION, "Invalid version string format")
    # Compared as text, not int(): a client picks the length, and int() refuses (raises) past
    # 4,300 digits and costs quadratic time below that.
    if version.lstrip("0") not in _SUPPORTED_VERSIONS:
        return ConnectionRefused(CloseCode.UNSUPPORTED_VERSION, "Unsupported protocol version")
    return None
