"""Properties of :class:`FrameReader` over generated streams (RFC 6455 §5; issue 10).

However a peer cuts its bytes, the reader must see the same messages; and whatever bytes it
sends, the reader returns messages or raises :class:`WebSocketProtocolError`, holding no more
than the limits allow and working in time linear in the input. Inputs are bounded (a few KB,
a few thousand frames at most) so the whole module runs in a few seconds.
"""

from __future__ import annotations

import struct
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pusherd.protocol.wsframes import (
    MAX_EMPTY_FRAGMENTS,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    WebSocketProtocolError,
)

#: Bounded and reproducible: a fixed seed per test, no example database, and a deadline far
#: above the linear cost of the largest input (a quadratic path blows through it).
BOUNDED = settings(
    max_examples=150,
    deadline=timedelta(seconds=1),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Small on purpose, so generated streams reach the size checks.
MAX_MESSAGE_BYTES = 512

Message = tuple[int, bytes]


def encode_frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask: bytes = b"\0\0\0\0", form: int = 0
) -> bytes:
    """A masked client frame; ``form`` 16 or 64 forces a longer length encoding than needed."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if form == 64 or length >= 65536:
        header = struct.pack("!BBQ", first, 0xFF, length)
    elif form == 16 or length >= 126:
        header = struct.pack("!BBH", first, 0xFE, length)
    else:
        header = bytes((first, 0x80 | length))
    body = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return header + mask + body


masks = st.binary(min_size=4, max_size=4)
forms = st.sampled_from((0, 0, 0, 16, 64))


@st.composite
def valid_streams(draw: st.DrawFn) -> tuple[bytes, list[Message]]:
    """Messages cut into fragments with control frames between them, and what must come out."""
    stream: list[bytes] = []
    expected: list[Message] = []
    for _ in range(draw(st.integers(0, 6))):
        opcode = draw(st.sampled_from((OP_TEXT, OP_BINARY, OP_PING, OP_PONG, OP_CLOSE)))
        if opcode >= OP_CLOSE:
            payload = draw(st.binary(max_size=125))
            stream.append(encode_frame(opcode, payload, mask=draw(masks), form=draw(forms)))
            expected.append((opcode, payload))
            continue
        payload = draw(st.binary(max_size=MAX_MESSAGE_BYTES))
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=MAX_EMPTY_FRAGMENTS)))
        pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        for index, piece in enumerate(pieces):
            is_last = index == len(pieces) - 1
            frame_opcode = opcode if index == 0 else OP_CONTINUATION
            stream.append(
                encode_frame(frame_opcode, piece, fin=is_last, mask=draw(masks), form=draw(forms))
            )
            if not is_last and draw(st.booleans()):
                ping = draw(st.binary(max_size=8))
                stream.append(encode_frame(OP_PING, ping, mask=draw(masks)))
                expected.append((OP_PING, ping))
        expected.append((opcode, payload))
    return b"".join(stream), expected


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def run(chunks: list[bytes]) -> tuple[list[Message], int | None]:
    """Feed the chunks in order: the messages, and the close code if the reader refused."""
    reader = FrameReader(MAX_MESSAGE_BYTES)
    messages: list[Message] = []
    for chunk in chunks:
        try:
            out = reader.feed(chunk)
        except WebSocketProtocolError as exc:
            assert exc.close_code in (1002, 1009), exc.close_code
            return messages, exc.close_code
        for opcode, payload in out:
            assert type(payload) is bytes
            if opcode >= OP_CLOSE:
                assert opcode in (OP_CLOSE, OP_PING, OP_PONG) and len(payload) <= 125
            else:
                assert opcode in (OP_TEXT, OP_BINARY) and len(payload) <= MAX_MESSAGE_BYTES
        messages.extend(out)
        # Memory: at most one incomplete frame (header + limit) and one unfinished message.
        assert reader.buffered_bytes <= 2 * MAX_MESSAGE_BYTES + 14
    return messages, None


@BOUNDED
@given(stream=valid_streams(), cuts=st.lists(st.integers(0, 4096), max_size=30))
def test_any_split_of_a_valid_stream_yields_the_same_messages(
    stream: tuple[bytes, list[Message]], cuts: list[int]
) -> None:
    data, expected = stream
    assert run([data]) == (expected, None)
    assert run(split(data, cuts)) == (expected, None)
    assert run([data[index : index + 1] for index in range(len(data))]) == (expected, None)


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    """A valid stream with a few bytes overwritten, inserted or cut: near misses reach deeper
    into the parser than random bytes do."""
    data = bytearray(draw(valid_streams())[0])
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(("set", "insert", "delete")))
        if action == "set" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        else:
            del data[position : position + draw(st.integers(1, 4))]
    return bytes(data)


@st.composite
def floods(draw: st.DrawFn) -> bytes:
    """One started message, then one small frame repeated up to 3,000 times: the shape of the
    item-1 attack (empty continuations) and its variants."""
    start = encode_frame(draw(st.sampled_from((OP_TEXT, OP_BINARY))), b"x", fin=False)
    repeated = encode_frame(
        draw(st.sampled_from((OP_CONTINUATION, OP_PING, OP_PONG))),
        draw(st.binary(max_size=2)),
        fin=draw(st.booleans()),
        mask=draw(masks),
    )
    return start + repeated * draw(st.integers(1, 3000))


@BOUNDED
@given(
    data=st.one_of(st.binary(max_size=2048), mutated_streams(), floods()),
    cuts=st.lists(st.integers(0, 20_000), max_size=30),
)
@example(  # issue 10 item 1: one message of 20,000 empty continuations
    data=encode_frame(OP_TEXT, b"{", fin=False)
    + encode_frame(OP_CONTINUATION, b"", fin=False) * 20_000,
    cuts=[],
)
@example(  # and of 5,000 one-byte ones, cut mid-frame
    data=encode_frame(OP_TEXT, b"{", fin=False)
    + encode_frame(OP_CONTINUATION, b" ", fin=False) * 5000,
    cuts=[7, 9000],
)
def test_any_bytes_yield_messages_or_a_protocol_error(data: bytes, cuts: list[int]) -> None:
    """Never another exception, never more than the limits buffered, the deadline never hit;
    and the outcome does not depend on how the bytes were cut."""
    whole_messages, whole_error = run([data])
    split_messages, split_error = run(split(data, cuts))
    assert split_error == whole_error
    if whole_error is None:
        assert split_messages == whole_messages
