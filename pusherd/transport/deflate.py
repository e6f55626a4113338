"""permessage-deflate (RFC 7692): the negotiation, and each event compressed once.

The server always answers with ``server_no_context_takeover``: every message it sends is
compressed on its own (§7.1.1.1), so the compressed bytes of an event do not depend on what the
socket received before, and the frame built for the first subscriber is the frame for all of
them (house style §4: encode once, fan out bytes). It also asks for
``client_no_context_takeover`` (§7.1.1.2, which a server may add to any offer): the few messages
a client sends are inflated with a fresh decompressor each, so an idle connection holds no zlib
state at all (a context per socket would cost tens of KiB, more than the rest of a connection).

A client limiting our window (``server_max_window_bits=N``, §7.1.2.1) gets messages compressed
with that window; the one-entry cache keeps a frame per window size, so subscribers that
negotiated the same parameters still share one frame. zlib cannot produce an 8-bit window, so
such an offer is declined like one with a parameter we do not know (the next offer, or no
compression, is used: §5.1).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

__all__ = ["DeflateParams", "SharedDeflater", "negotiate"]

#: The four octets a flush ends with, removed before sending (§7.2.1); wsframes inflates.
_TAIL = b"\x00\x00\xff\xff"
_DEFAULT_WINDOW_BITS = 15
_WINDOW_BITS = range(9, 16)
_NO_VALUE = ("server_no_context_takeover", "client_no_context_takeover")
#: zlib level 6 costs ~3x level 1 for a few % on short JSON; events are compressed once each.
_LEVEL = 6


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """What a socket negotiated; shared by every socket that negotiated the same."""

    #: Our compression window (``server_max_window_bits``, 15 unless the client asked for less).
    window_bits: int
    #: Frames shorter than this go out uncompressed (the app's ``compression_min_bytes``).
    min_frame_bytes: int
    #: The ``Sec-WebSocket-Extensions`` value of our 101 response.
    response: str


def _params(offer: str) -> dict[str, str | None] | None:
    """The parameters of one ``permessage-deflate`` offer, or None if it is not one we take."""
    name, *parts = (part.strip() for part in offer.split(";"))
    if name.lower() != "permessage-deflate":
        return None
    params: dict[str, str | None] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if key in params:
            return None  # §7: a parameter given twice declines the offer
        params[key] = value.strip().strip('"') if sep else None
    for key, given in params.items():
        if key in _NO_VALUE:
            if given is not None:
                return None
        elif key == "server_max_window_bits":
            if given is None or not given.isdigit() or int(given) not in _WINDOW_BITS:
                return None
        elif key == "client_max_window_bits":
            if given is not None and not (given.isdigit() and 8 <= int(given) <= 15):
                return None
        else:
            return None
    return params


def negotiate(offers: str | None, min_frame_bytes: int) -> DeflateParams | None:
    """The first acceptable ``permessage-deflate`` offer of a ``Sec-WebSocket-Extensions``
    request header (§5.1), or None: then the connection runs uncompressed."""
    if not offers:
        return None
    for offer in offers.split(","):
        params = _params(offer)
        if params is None:
            continue
        window_bits = int(params.get("server_max_window_bits") or _DEFAULT_WINDOW_BITS)
        response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        if "server_max_window_bits" in params:
            response += f"; server_max_window_bits={window_bits}"
        return DeflateParams(window_bits, min_frame_bytes, response)
    return None


def _header(first: int, length: int) -> bytes:
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


class SharedDeflater:
    """Compresses a text frame once, however many subscribers it is written to.

    The fan-out hands the same ``bytes`` object to every subscriber in one loop, so a one-entry
    cache keyed by that object's identity (the object is held, so its id cannot be reused)
    compresses each event once per window size. One compressor per window size is reused: a
    full flush after each message resets its history, which is what
    ``server_no_context_takeover`` promises.
    """

    __slots__ = (
        "_compressors",
        "_last_plain",
        "_last_sent",
        "compressed_count",
        "last_bits",
        "last_frame",
        "last_plain",
    )

    def __init__(self) -> None:
        self._compressors: dict[int, zlib._Compress] = {}
        self._last_plain: bytes | None = None
        self._last_sent: dict[int, bytes] = {}
        #: The last answer, read inline by the fan-out's per-socket write (no call, no lookup):
        #: ``last_frame`` is what ``frame(last_plain, last_bits)`` returns.
        self.last_plain: bytes | None = None
        self.last_bits = 0
        self.last_frame = b""
        #: Messages compressed so far (once per event and window size; tests read it).
        self.compressed_count = 0

    def frame(self, plain: bytes, window_bits: int) -> bytes:
        """The frame to send for the unmasked, final text frame ``plain``: compressed (RSV1
        set, §6) or, if compressing does not make it shorter, ``plain`` itself."""
        sent = self._frame(plain, window_bits)
        self.last_plain, self.last_bits, self.last_frame = plain, window_bits, sent
        return sent

    def _frame(self, plain: bytes, window_bits: int) -> bytes:
        if plain is self._last_plain:
            cached = self._last_sent.get(window_bits)
            if cached is not None:
                return cached
        else:
            self._last_plain = plain
            self._last_sent = {}
        length = plain[1] & 0x7F
        start = 2 if length < 126 else 4 if length == 126 else 10
        compressor = self._compressors.get(window_bits)
        if compressor is None:
            compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, -window_bits)
            self._compressors[window_bits] = compressor
        body = compressor.compress(memoryview(plain)[start:]) + compressor.flush(zlib.Z_FULL_FLUSH)
        self.compressed_count += 1
        if body.endswith(_TAIL):
            body = body[:-4]
        sent = _header(0xC1, len(body)) + body if len(body) < len(plain) - start else plain
        self._last_sent[window_bits] = sent
        return sent
