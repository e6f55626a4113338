"""Properties of the bus envelope (:mod:`pusherd.protocol.bus`; issue 10).

A node reads every message on the bus, including whatever a misbehaving publisher appended: any
bytes decode to a :class:`BusMessage` or raise :class:`BusFormatError`, never anything else; and
what :func:`encode_bus_message` writes comes back field for field, frame bytes untouched.
"""

from __future__ import annotations

from datetime import timedelta

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pusherd.protocol.bus import (
    BusFormatError,
    BusMessage,
    decode_bus_message,
    encode_bus_message,
)

BOUNDED = settings(
    max_examples=200,
    deadline=timedelta(seconds=1),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
MAGIC = b"PD1 "

json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=12)
headers = st.dictionaries(
    st.sampled_from(("app", "channel", "except", "node")) | st.text(max_size=6),
    json_scalars | st.lists(json_scalars, max_size=2),
    max_size=5,
)


def decode(message: bytes) -> BusMessage | None:
    try:
        decoded = decode_bus_message(message)
    except BusFormatError:
        return None
    assert isinstance(decoded.app_id, str) and isinstance(decoded.channel, str)
    assert decoded.except_socket_id is None or isinstance(decoded.except_socket_id, str)
    assert decoded.origin_node is None or isinstance(decoded.origin_node, str)
    assert message.endswith(decoded.frame)
    return decoded


@BOUNDED
@given(message=st.binary(max_size=512) | st.binary(max_size=512).map(MAGIC.__add__))
@example(message=MAGIC + b"[" * 5000 + b"\n")
@example(message=MAGIC + b'{"app":"1","channel":"\xff"}\n{}')
@example(message=MAGIC + b'{"app":1e999,"channel":"c"}\n{}')
def test_any_bytes_decode_or_are_a_format_error(message: bytes) -> None:
    decode(message)


@BOUNDED
@given(header=headers, frame=st.binary(max_size=64))
def test_any_header_object_decodes_or_is_a_format_error(
    header: dict[str, object], frame: bytes
) -> None:
    decode(MAGIC + orjson.dumps(header) + b"\n" + frame)


@BOUNDED
@given(
    app_id=st.text(max_size=20),
    channel=st.text(max_size=40),
    frame=st.binary(max_size=256),
    except_socket_id=st.none() | st.text(max_size=20),
    origin_node=st.none() | st.text(max_size=20),
)
def test_what_is_encoded_decodes_to_the_same_fields(
    app_id: str, channel: str, frame: bytes, except_socket_id: str | None, origin_node: str | None
) -> None:
    """Newlines in names or in the frame do not confuse the split: orjson escapes them in the
    header, and the frame is everything after the header's line."""
    message = encode_bus_message(app_id, channel, frame, except_socket_id, origin_node=origin_node)
    assert decode_bus_message(message) == BusMessage(
        app_id, channel, except_socket_id, frame, origin_node
    )
