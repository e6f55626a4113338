"""Server-side WebSocket framing against RFC 6455 §5."""

from __future__ import annotations

import struct
import time

import pytest

from pusherd.protocol.wsframes import (
    MAX_EMPTY_FRAGMENTS,
    MAX_FRAGMENTS_PER_MESSAGE,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    WebSocketProtocolError,
    close_frame,
    control_frame,
    parse_close_payload,
    text_frame,
)

MASK = b"\x37\xfa\x21\x3d"
LIMIT = 1 << 20


def masked(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bytes = MASK
) -> bytes:
    """A client frame as a browser sends it (RFC 6455 §5.2, §5.3)."""
    first = (0x80 if fin else 0) | rsv | opcode
    length = len(payload)
    if length < 126:
        header = bytes((first, 0x80 | length))
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return header + mask + body


def test_rfc6455_5_7_masked_hello() -> None:
    """The RFC's own example: a single-frame masked text message "Hello"."""
    frame = bytes.fromhex("818537fa213d7f9f4d5158")
    assert FrameReader(LIMIT).feed(frame) == [(OP_TEXT, b"Hello")]


def test_masked_text_frame() -> None:
    payload = b'{"event":"pusher:ping","data":{}}'
    assert FrameReader(LIMIT).feed(masked(OP_TEXT, payload)) == [(OP_TEXT, payload)]


def test_empty_masked_text_frame() -> None:
    assert FrameReader(LIMIT).feed(masked(OP_TEXT, b"")) == [(OP_TEXT, b"")]


def test_binary_frame_is_delivered_with_its_opcode() -> None:
    assert FrameReader(LIMIT).feed(masked(OP_BINARY, b"{}")) == [(OP_BINARY, b"{}")]


@pytest.mark.parametrize(
    "length",
    [
        pytest.param(125, id="7-bit-max"),
        pytest.param(126, id="16-bit-min"),
        pytest.param(65535, id="16-bit-max"),
        pytest.param(65536, id="64-bit-min"),
        pytest.param(70000, id="64-bit"),
    ],
)
def test_length_forms(length: int) -> None:
    payload = bytes(i % 251 for i in range(length))
    frame = masked(OP_TEXT, payload)
    assert frame[1] & 0x7F == (length if length < 126 else 126 if length < 65536 else 127)
    assert FrameReader(LIMIT).feed(frame) == [(OP_TEXT, payload)]


def test_several_frames_in_one_feed() -> None:
    data = masked(OP_TEXT, b"one") + masked(OP_PING, b"p") + masked(OP_TEXT, b"two")
    assert FrameReader(LIMIT).feed(data) == [(OP_TEXT, b"one"), (OP_PING, b"p"), (OP_TEXT, b"two")]


def test_fragmented_message_with_interleaved_ping() -> None:
    """§5.4: control frames may be injected between fragments and come out at once."""
    data = (
        masked(OP_TEXT, b"Hel", fin=False)
        + masked(OP_PING, b"ping!")
        + masked(OP_CONTINUATION, b"lo ", fin=False)
        + masked(OP_PONG, b"")
        + masked(OP_CONTINUATION, b"world")
    )
    assert FrameReader(LIMIT).feed(data) == [
        (OP_PING, b"ping!"),
        (OP_PONG, b""),
        (OP_TEXT, b"Hello world"),
    ]


def test_fragmented_binary_keeps_first_opcode() -> None:
    data = masked(OP_BINARY, b"a", fin=False) + masked(OP_CONTINUATION, b"b")
    assert FrameReader(LIMIT).feed(data) == [(OP_BINARY, b"ab")]


def test_split_byte_by_byte_across_many_feeds() -> None:
    big = b"x" * 300
    data = (
        masked(OP_TEXT, b"first")
        + masked(OP_TEXT, big)
        + masked(OP_TEXT, b"frag", fin=False)
        + masked(OP_PING, b"")
        + masked(OP_CONTINUATION, b"ment")
        + masked(OP_TEXT, bytes(70000))
    )
    reader = FrameReader(LIMIT)
    messages: list[tuple[int, bytes]] = []
    for index in range(len(data) - 70000):
        messages.extend(reader.feed(data[index : index + 1]))
    messages.extend(reader.feed(data[len(data) - 70000 :]))
    assert messages == [
        (OP_TEXT, b"first"),
        (OP_TEXT, big),
        (OP_PING, b""),
        (OP_TEXT, b"fragment"),
        (OP_TEXT, bytes(70000)),
    ]


def test_partial_frame_waits_for_more_bytes() -> None:
    frame = masked(OP_TEXT, b"hello")
    reader = FrameReader(LIMIT)
    assert reader.feed(frame[:-1]) == []
    assert reader.feed(frame[-1:]) == [(OP_TEXT, b"hello")]


@pytest.mark.parametrize(
    ("data", "close_code"),
    [
        pytest.param(b"\x81\x05hello", 1002, id="5.1-unmasked-client-frame"),
        pytest.param(masked(OP_TEXT, b"x", rsv=0x40), 1002, id="5.2-rsv1"),
        pytest.param(masked(OP_TEXT, b"x", rsv=0x20), 1002, id="5.2-rsv2"),
        pytest.param(masked(OP_TEXT, b"x", rsv=0x10), 1002, id="5.2-rsv3"),
        pytest.param(masked(0x3, b"x"), 1002, id="5.2-reserved-data-opcode"),
        pytest.param(masked(0xB, b"x"), 1002, id="5.2-reserved-control-opcode"),
        pytest.param(masked(OP_PING, b"x" * 126), 1002, id="5.5-control-over-125"),
        pytest.param(masked(OP_PING, b"x", fin=False), 1002, id="5.5-fragmented-control"),
        pytest.param(masked(OP_CONTINUATION, b"x"), 1002, id="5.4-continuation-without-start"),
        pytest.param(
            masked(OP_TEXT, b"a", fin=False) + masked(OP_TEXT, b"b"),
            1002,
            id="5.4-new-message-inside-fragmented",
        ),
    ],
)
def test_protocol_violations(data: bytes, close_code: int) -> None:
    with pytest.raises(WebSocketProtocolError) as caught:
        FrameReader(LIMIT).feed(data)
    assert caught.value.close_code == close_code


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(bytes((0x81, 0x80 | 126)) + struct.pack("!H", 1025), id="16-bit"),
        pytest.param(bytes((0x81, 0x80 | 127)) + struct.pack("!Q", 1 << 40), id="64-bit"),
        pytest.param(bytes((0x81, 0x80 | 127)) + struct.pack("!Q", (1 << 64) - 1), id="64-bit-max"),
    ],
)
def test_oversize_declared_length_is_1009_before_buffering(header: bytes) -> None:
    """A declared length over the limit is refused on the header alone, with no payload sent."""
    with pytest.raises(WebSocketProtocolError) as caught:
        FrameReader(1024).feed(header)
    assert caught.value.close_code == 1009


def test_message_at_limit_is_accepted() -> None:
    assert FrameReader(1024).feed(masked(OP_TEXT, b"x" * 1024)) == [(OP_TEXT, b"x" * 1024)]


def test_fragments_adding_up_over_limit_are_1009() -> None:
    reader = FrameReader(1024)
    assert reader.feed(masked(OP_TEXT, b"x" * 600, fin=False)) == []
    with pytest.raises(WebSocketProtocolError) as caught:
        reader.feed(masked(OP_CONTINUATION, b"x" * 600))
    assert caught.value.close_code == 1009


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(b"", (1005, ""), id="no-status"),
        pytest.param(b"\x03\xe8", (1000, ""), id="code-only"),
        pytest.param(b"\x0f\xa1bye", (4001, "bye"), id="code-and-reason"),
        pytest.param(b"\x03\xe9\xc3\xa9", (1001, "\u00e9"), id="utf8-reason"),
    ],
)
def test_parse_close_payload(payload: bytes, expected: tuple[int, str]) -> None:
    assert parse_close_payload(payload) == expected


# RFC 6455 §7.4.1 defines 1000–1003 and 1007–1011; IANA registered 1012–1014 since (the
# registry §7.4.2 points to); 3000–4999 belong to libraries, frameworks and applications.
@pytest.mark.parametrize(
    "code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]
)
def test_close_codes_a_peer_may_send(code: int) -> None:
    assert parse_close_payload(code.to_bytes(2, "big")) == (code, "")


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(0, id="below-1000"),
        pytest.param(999, id="999"),
        pytest.param(1004, id="1004-reserved"),
        pytest.param(1005, id="1005-must-not-be-sent"),
        pytest.param(1006, id="1006-must-not-be-sent"),
        pytest.param(1015, id="1015-must-not-be-sent"),
        pytest.param(1016, id="1016-unassigned"),
        pytest.param(2999, id="2999-unassigned"),
        pytest.param(5000, id="5000-out-of-range"),
        pytest.param(65535, id="65535"),
    ],
)
def test_rfc6455_7_4_close_code_that_must_not_be_received_is_1002(code: int) -> None:
    """§7.4.1/§7.4.2: 1004–1006 and 1015 must never be sent, 0–999 and ≥ 5000 are not used;
    the connection is failed with 1002 instead of echoing the code."""
    with pytest.raises(WebSocketProtocolError) as caught:
        parse_close_payload(code.to_bytes(2, "big") + b"bye")
    assert caught.value.close_code == 1002


def test_rfc6455_5_5_1_one_byte_close_payload_is_1002() -> None:
    """§5.5.1: a close body, if any, starts with a two-byte code; one byte cannot be one."""
    with pytest.raises(WebSocketProtocolError) as caught:
        parse_close_payload(b"\x03")
    assert caught.value.close_code == 1002


def test_rfc6455_8_1_close_reason_not_utf8_is_1007() -> None:
    """§5.5.1: the reason is UTF-8; §8.1: bytes that should be UTF-8 and are not fail the
    connection, with 1007 (§7.4.1: data inconsistent with the type of the message)."""
    with pytest.raises(WebSocketProtocolError) as caught:
        parse_close_payload(b"\x03\xe8\xff")
    assert caught.value.close_code == 1007


@pytest.mark.parametrize(
    ("length", "header"),
    [
        pytest.param(0, b"\x81\x00", id="empty"),
        pytest.param(125, b"\x81\x7d", id="7-bit"),
        pytest.param(126, b"\x81\x7e\x00\x7e", id="16-bit-min"),
        pytest.param(65535, b"\x81\x7e\xff\xff", id="16-bit-max"),
        pytest.param(65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", id="64-bit"),
    ],
)
def test_text_frame_header_forms(length: int, header: bytes) -> None:
    """Server frames: FIN + text, unmasked (§5.1), shortest length form (§5.2)."""
    payload = b"a" * length
    assert text_frame(payload) == header + payload


def test_control_frames() -> None:
    assert control_frame(OP_PING) == b"\x89\x00"
    assert control_frame(OP_PONG, b"abc") == b"\x8a\x03abc"


def test_control_frame_payload_is_cut_to_125_bytes() -> None:
    """§5.5: a control frame's payload is at most 125 bytes and the length says so."""
    frame = control_frame(OP_PING, b"x" * 200)
    assert frame == b"\x89\x7d" + b"x" * 125


def test_close_frame() -> None:
    assert close_frame(4201, "Pong reply not received") == (
        b"\x88" + bytes((2 + 23,)) + b"\x10\x69" + b"Pong reply not received"
    )
    assert close_frame(1000) == b"\x88\x02\x03\xe8"


def test_close_frame_reason_is_cut_to_123_bytes() -> None:
    frame = close_frame(4200, "r" * 300)
    assert frame[1] == 125
    assert parse_close_payload(frame[2:]) == (4200, "r" * 123)


def test_close_frame_reason_is_not_cut_inside_a_utf8_character() -> None:
    """§5.5.1: the reason must be valid UTF-8, so a cut must fall between characters."""
    frame = close_frame(4200, "\u00e9" * 100)  # 200 bytes of two-byte characters
    reason = frame[4:]
    assert len(reason) <= 123
    assert reason.decode() == "\u00e9" * (len(reason) // 2)


def test_server_frames_read_back_when_masked() -> None:
    """What we send decodes to the same message once a client-style mask is applied."""
    payload = b'{"event":"x"}' * 20
    frame = text_frame(payload)
    header_length = 2 if len(payload) < 126 else 4
    length_bytes = frame[1:header_length]
    client_form = (
        frame[:1]
        + bytes((length_bytes[0] | 0x80,))
        + length_bytes[1:]
        + MASK
        + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    )
    assert FrameReader(LIMIT).feed(client_form) == [(OP_TEXT, payload)]


def test_close_opcode_is_delivered() -> None:
    assert FrameReader(LIMIT).feed(masked(OP_CLOSE, b"\x03\xe8")) == [(OP_CLOSE, b"\x03\xe8")]


def _fragmented(first: bytes, middles: list[bytes], last: bytes) -> bytes:
    return (
        masked(OP_TEXT, first, fin=False)
        + b"".join(masked(OP_CONTINUATION, m, fin=False) for m in middles)
        + masked(OP_CONTINUATION, last)
    )


def test_message_of_max_fragments_is_reassembled() -> None:
    """Exactly ``MAX_FRAGMENTS_PER_MESSAGE`` frames (first + continuations) make one message."""
    count = MAX_FRAGMENTS_PER_MESSAGE
    data = _fragmented(b"a", [b"b"] * (count - 2), b"c")
    assert FrameReader(LIMIT).feed(data) == [(OP_TEXT, b"a" + b"b" * (count - 2) + b"c")]


def test_message_over_max_fragments_is_1009() -> None:
    """One frame more than the bound: the message is too big to process (§7.4.1, 1009), though
    its bytes are far under the size limit."""
    data = _fragmented(b"a", [b"b"] * (MAX_FRAGMENTS_PER_MESSAGE - 1), b"c")
    with pytest.raises(WebSocketProtocolError) as caught:
        FrameReader(LIMIT).feed(data)
    assert caught.value.close_code == 1009


def test_a_few_empty_fragments_are_accepted() -> None:
    """Empty fragments are legal (§5.4); a short run of them, even first, is tolerated."""
    data = _fragmented(b"", [b""] * (MAX_EMPTY_FRAGMENTS - 1) + [b"x"], b"")
    assert FrameReader(LIMIT).feed(data) == [(OP_TEXT, b"x")]


def test_run_of_empty_fragments_is_refused_at_once() -> None:
    """A run of empty non-final fragments carries nothing and only costs work: refused on the
    first frame past the bound, before the rest of the flood is even read."""
    reader = FrameReader(LIMIT)
    head = masked(OP_TEXT, b'{"event":', fin=False)
    empty = masked(OP_CONTINUATION, b"", fin=False)
    assert reader.feed(head + empty * MAX_EMPTY_FRAGMENTS) == []
    with pytest.raises(WebSocketProtocolError) as caught:
        reader.feed(empty * 20_000)
    assert caught.value.close_code == 1009


def test_empty_fragment_runs_are_counted_per_run() -> None:
    """Data between runs resets the count: the bound is on consecutive empty frames."""
    run = [b""] * MAX_EMPTY_FRAGMENTS + [b"x"]
    data = _fragmented(b"a", run * 3, b"z")
    assert FrameReader(LIMIT).feed(data) == [(OP_TEXT, b"axxxz")]


def test_frame_trickled_in_small_reads_costs_linear_time() -> None:
    """A large frame arriving a few bytes per read must not re-copy all it has so far on every
    read: that is quadratic (a 1 MiB frame in 4-byte reads copied ~140 GB, about 20 s)."""
    payload = bytes(range(256)) * 4096  # 1 MiB
    data = masked(OP_TEXT, payload)
    reader = FrameReader(LIMIT)
    messages: list[tuple[int, bytes]] = []
    started = time.perf_counter()
    for index in range(0, len(data), 4):
        messages.extend(reader.feed(data[index : index + 4]))
    elapsed = time.perf_counter() - started
    assert messages == [(OP_TEXT, payload)]
    # 262,000 reads: about 0.5 s on a loaded machine once linear (a bound, not a benchmark).
    assert elapsed < 5, elapsed
