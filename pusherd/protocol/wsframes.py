"""WebSocket framing (RFC 6455 §5) for the server side, sans I/O.

Why our own: server frames are unmasked, so one event is one identical frame for every
subscriber; building it once (:func:`text_frame`) and writing the same ``bytes`` to each transport
is the whole fan-out budget (house style §4). The reader keeps one small object per connection
instead of a general-purpose protocol stack, which is most of a connection's memory.
Handshakes are answered by ``pusherd.transport.handshake`` (``websockets`` for unusual ones);
this module starts after the 101, and inflates permessage-deflate messages (RFC 7692).
"""

from __future__ import annotations

import struct
import zlib

__all__ = [
    "MAX_EMPTY_FRAGMENTS",
    "MAX_FRAGMENTS_PER_MESSAGE",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameReader",
    "WebSocketProtocolError",
    "close_frame",
    "control_frame",
    "inflate_message",
    "parse_close_payload",
    "text_frame",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

#: Frames one message may span (first frame included). Browsers never fragment what they send and
#: other clients cut at kilobytes, so a 256 KiB message in 1,024 pieces is far past any real
#: client; the bound caps the per-message work (a frame header parsed per piece) at a small
#: multiple of the message's own bytes, whatever the pieces' sizes.
MAX_FRAGMENTS_PER_MESSAGE = 1024
#: Empty non-final fragments allowed in a row. RFC 6455 §5.4 allows empty fragments, but a run of
#: them carries nothing: past a few it is only work for us, so the message is refused. Both bounds
#: close with 1009 (§7.4.1, a message "too big for it to process", counted in frames), not 1002:
#: the frames are legal, the message is what costs too much.
MAX_EMPTY_FRAGMENTS = 8
#: Close codes a peer may send (RFC 6455 §7.4.1, the IANA registry of §11.7 for 1012–1014, and
#: §7.4.2's 3000–4999); 1004–1006 and 1015 must never be sent, the rest are unassigned.
_RECEIVABLE_CLOSE_CODES = frozenset((*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)))

_PACK_16 = struct.Struct("!BBH").pack
_PACK_64 = struct.Struct("!BBQ").pack
_UNPACK_16 = struct.Struct("!H").unpack_from
_UNPACK_64 = struct.Struct("!Q").unpack_from


class WebSocketProtocolError(Exception):
    """The peer broke RFC 6455; close with ``close_code`` (1002 protocol, 1009 too big, 1007)."""

    def __init__(self, close_code: int, reason: str) -> None:
        super().__init__(reason)
        self.close_code = close_code
        self.reason = reason


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame holding ``payload`` (already UTF-8 JSON)."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 65536:
        return _PACK_16(0x81, 126, length) + payload
    return _PACK_64(0x81, 127, length) + payload


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    """A ping, pong or close frame; control payloads are at most 125 bytes (§5.5)."""
    payload = payload[:125]
    return bytes((0x80 | opcode, len(payload))) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame with ``code`` and a reason cut to fit the 123 bytes allowed."""
    # Cut on a character boundary: the reason must stay valid UTF-8 (RFC 6455 §5.5.1).
    cut = reason.encode()[:123].decode(errors="ignore").encode()
    body = code.to_bytes(2, "big") + cut
    return control_frame(OP_CLOSE, body)


def parse_close_payload(payload: bytes) -> tuple[int, str]:
    """The code and reason of a received close frame; 1005 when it carries none.

    Raises:
        WebSocketProtocolError: 1002 for a one-byte body (§5.5.1: a body starts with a two-byte
            code) or a code a peer must not send (§7.4.1, §7.4.2), so it is never echoed back;
            1007 for a reason that is not UTF-8 (§5.5.1, §8.1).
    """
    if not payload:
        return 1005, ""
    if len(payload) == 1:
        raise WebSocketProtocolError(1002, "close payload of one byte")
    code = int.from_bytes(payload[:2], "big")
    if code not in _RECEIVABLE_CLOSE_CODES:
        raise WebSocketProtocolError(1002, "invalid close code")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise WebSocketProtocolError(1007, "close reason is not UTF-8") from None
    return code, reason


#: Put back before inflating: the sender removed the flush's last four octets (RFC 7692 §7.2.2).
_DEFLATE_TAIL = b"\x00\x00\xff\xff"


def inflate_message(payload: bytes, max_bytes: int) -> bytes:
    """The inflated payload of one compressed message (RFC 7692 §7.2.2), never more than
    ``max_bytes``: zlib stops after ``max_bytes + 1`` bytes of output, so a zip bomb costs a
    bounded buffer, not memory. A fresh inflater per message: the server asks every client for
    ``client_no_context_takeover``, so no message refers back to an earlier one.

    Raises:
        WebSocketProtocolError: 1007 for data that is not DEFLATE (what ``ws`` answers), 1009
            past ``max_bytes`` (RFC 6455 §7.4.1, a message too big to process).
    """
    inflater = zlib.decompressobj(-15)
    try:
        data = inflater.decompress(payload + _DEFLATE_TAIL, max_bytes + 1)
    except zlib.error:
        raise WebSocketProtocolError(1007, "invalid compressed data") from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise WebSocketProtocolError(1009, "message too big")
    return data


def _unmask(payload: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    length = len(payload)
    if not length:
        return b""
    key = int.from_bytes((mask * ((length >> 2) + 1))[:length], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(length, "big")


class FrameReader:
    """Turns received bytes into whole messages: ``(opcode, payload)`` tuples.

    Data frames are reassembled across continuations; control frames come out as they arrive.
    A declared length above ``max_message_bytes`` is refused before anything is buffered.
    With ``is_deflate`` (permessage-deflate negotiated), a message whose first frame has RSV1 set
    is inflated when complete, to at most ``max_message_bytes`` (RFC 7692 §6, §7.2.2).

    Every cost is linear in the bytes received, because a peer picks how its bytes are cut: the
    unread tail of a frame grows in place (a frame trickled in 4-byte reads must not be copied
    whole on every read), and a fragmented message is one growing buffer with a running size,
    a bounded number of frames and a bounded run of empty ones.
    """

    __slots__ = (
        "_buffer",
        "_empty_run",
        "_fragment_compressed",
        "_fragment_count",
        "_fragment_opcode",
        "_fragments",
        "is_deflate",
        "max_message_bytes",
    )

    def __init__(self, max_message_bytes: int, *, is_deflate: bool = False) -> None:
        self.max_message_bytes = max_message_bytes
        self.is_deflate = is_deflate
        self._fragment_compressed = False
        #: Bytes of an incomplete frame; ``None`` (no allocation) between frames, the usual state.
        self._buffer: bytearray | None = None
        self._fragments: bytearray | None = None
        self._fragment_opcode = 0
        self._fragment_count = 0
        self._empty_run = 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for an incomplete frame and an unfinished fragmented message."""
        pending, fragments = self._buffer, self._fragments
        return (0 if pending is None else len(pending)) + (
            0 if fragments is None else len(fragments)
        )

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Parse ``data`` (plus whatever was left over) into complete messages.

        Raises:
            WebSocketProtocolError: the bytes break RFC 6455 or a size limit.
        """
        pending = self._buffer
        buffer: bytes | bytearray
        if pending is None:
            buffer = data
        else:
            pending += data
            buffer = pending
        messages: list[tuple[int, bytes]] = []
        offset = 0
        end = len(buffer)
        while end - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            if first & 0x70 and (first & 0x70 != 0x40 or not self.is_deflate):
                # RSV1 means "compressed" once permessage-deflate is agreed (RFC 7692 §6).
                raise WebSocketProtocolError(1002, "reserved bits set")
            if not second & 0x80:
                raise WebSocketProtocolError(1002, "client frames must be masked")
            length = second & 0x7F
            header = 6
            if length == 126:
                if end - offset < 4:
                    break
                length = _UNPACK_16(buffer, offset + 2)[0]
                header = 8
            elif length == 127:
                if end - offset < 10:
                    break
                length = _UNPACK_64(buffer, offset + 2)[0]
                header = 14
            if length > self.max_message_bytes:
                raise WebSocketProtocolError(1009, "message too big")
            if end - offset < header + length:
                break
            mask = buffer[offset + header - 4 : offset + header]
            payload = _unmask(buffer[offset + header : offset + header + length], mask)
            offset += header + length
            self._on_frame(first & 0xC0, first & 0x0F, payload, messages)
        if pending is None:
            if offset < end:
                self._buffer = bytearray(memoryview(data)[offset:])
        elif offset < end:
            # Dropping a bytearray's head is O(1) in CPython: no copy of the tail.
            del pending[:offset]
        else:
            self._buffer = None
        return messages

    def _on_frame(
        self, flags: int, opcode: int, payload: bytes, messages: list[tuple[int, bytes]]
    ) -> None:
        fin = flags & 0x80
        if flags & 0x40 and opcode not in (OP_TEXT, OP_BINARY):
            # RFC 7692 §6.1: RSV1 marks the first frame of a compressed data message only.
            raise WebSocketProtocolError(1002, "reserved bits set")
        if opcode >= OP_CLOSE:
            if opcode > OP_PONG:
                raise WebSocketProtocolError(1002, "unknown control opcode")
            if not fin or len(payload) > 125:
                raise WebSocketProtocolError(1002, "invalid control frame")
            messages.append((opcode, payload))
            return
        if opcode == OP_CONTINUATION:
            fragments = self._fragments
            if fragments is None:
                raise WebSocketProtocolError(1002, "continuation without a start")
            self._fragment_count += 1
            if self._fragment_count > MAX_FRAGMENTS_PER_MESSAGE:
                # §7.4.1 1009: a message too big to process, counted in frames.
                raise WebSocketProtocolError(1009, "too many fragments")
            if payload:
                if len(fragments) + len(payload) > self.max_message_bytes:
                    raise WebSocketProtocolError(1009, "message too big")
                fragments += payload
                self._empty_run = 0
            elif not fin:
                self._empty_run += 1
                if self._empty_run > MAX_EMPTY_FRAGMENTS:
                    raise WebSocketProtocolError(1009, "too many empty fragments")
            if fin:
                message = bytes(fragments)
                if self._fragment_compressed:
                    message = inflate_message(message, self.max_message_bytes)
                messages.append((self._fragment_opcode, message))
                self._fragments = None
            return
        if opcode not in (OP_TEXT, OP_BINARY):
            raise WebSocketProtocolError(1002, "unknown data opcode")
        if self._fragments is not None:
            raise WebSocketProtocolError(1002, "new message inside a fragmented one")
        if fin:
            if flags & 0x40:
                payload = inflate_message(payload, self.max_message_bytes)
            messages.append((opcode, payload))
        else:
            self._fragment_compressed = bool(flags & 0x40)
            self._fragments = bytearray(payload)
            self._fragment_opcode = opcode
            self._fragment_count = 1
            self._empty_run = 0 if payload else 1
