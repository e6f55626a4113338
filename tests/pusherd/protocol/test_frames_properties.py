"""Properties of :func:`parse_client_frame` (reference §2, §2.16; issue 10).

Whatever a client sends in a text frame, the parser returns one of the :data:`ClientFrame`
values or raises :class:`ClientError`, which the socket renders as ``pusher:error``: never any
other exception, which would escape into the transport and drop the socket.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pusherd.protocol.errors import ClientError
from pusherd.protocol.frames import (
    ClientEvent,
    Ping,
    Pong,
    Signin,
    Subscribe,
    UnknownEvent,
    Unsubscribe,
    parse_client_frame,
)

BOUNDED = settings(
    max_examples=200,
    deadline=timedelta(seconds=1),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FRAME_TYPES = (Ping, Pong, Subscribe, Unsubscribe, Signin, ClientEvent, UnknownEvent)

#: Any JSON value orjson can write back (integers within 64 bits, finite floats).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
events = st.sampled_from(
    (
        "pusher:ping",
        "pusher:pong",
        "pusher:subscribe",
        "pusher:unsubscribe",
        "pusher:signin",
        "client-x",
        "pusher:other",
        "other",
    )
) | st.text(max_size=12)
command_data = st.fixed_dictionaries(
    {},
    optional={
        "channel": json_values,
        "auth": json_values,
        "channel_data": json_values,
        "user_data": json_values,
    },
)


@st.composite
def frames(draw: st.DrawFn) -> dict[str, Any]:
    """Frames shaped like Pusher's, with every field possibly missing or of the wrong type."""
    frame: dict[str, Any] = {"event": draw(events | json_values)}
    if draw(st.booleans()):
        data = draw(command_data | json_values)
        # §2.4: the data of a command may arrive JSON-encoded in a string.
        frame["data"] = orjson.dumps(data).decode() if draw(st.booleans()) else data
    if draw(st.booleans()):
        frame["channel"] = draw(json_values)
    return frame


def parse(raw: bytes) -> object:
    try:
        parsed = parse_client_frame(raw)
    except ClientError as exc:
        assert exc.code is None
        assert exc.message.startswith("Invalid message format")
        assert orjson.loads(exc.to_frame())["event"] == "pusher:error"
        return exc
    assert isinstance(parsed, FRAME_TYPES)
    return parsed


@BOUNDED
@given(raw=st.binary(max_size=512))
@example(raw=b"[" * 2000)
@example(raw=b'{"event":"client-x","channel":"c","data":' + b"[" * 300 + b"]" * 300 + b"}")
@example(raw=b'{"event":"client-x","channel":"c","data":1e999}')
@example(raw=b'{"event":"client-x","channel":"c","data":"\xed\xa0\x80"}')
def test_any_bytes_parse_or_are_a_client_error(raw: bytes) -> None:
    parse(raw)


@BOUNDED
@given(value=json_values | frames())
def test_any_json_parses_or_is_a_client_error(value: Any) -> None:
    parse(orjson.dumps(value))


@BOUNDED
@given(frame=frames())
def test_what_parses_carries_the_fields_as_sent(frame: dict[str, Any]) -> None:
    """A parsed frame holds the client's strings unchanged: what a signature covers (auth,
    channel_data, user_data) and what is relayed (client event data) is never rewritten."""
    parsed = parse(orjson.dumps(frame))
    data = frame.get("data")
    if isinstance(data, str) and type(parsed) in (Subscribe, Unsubscribe, Signin):
        data = orjson.loads(data)
    if type(parsed) is Subscribe:
        assert isinstance(data, dict)
        assert parsed.channel == data["channel"]
        assert parsed.auth == (data.get("auth") or "")
        assert parsed.channel_data == data.get("channel_data")
    elif type(parsed) is Unsubscribe:
        assert isinstance(data, dict) and parsed.channel == data["channel"]
    elif type(parsed) is Signin:
        assert isinstance(data, dict)
        assert (parsed.auth, parsed.user_data) == (data["auth"], data["user_data"])
    elif type(parsed) is ClientEvent:
        assert parsed.event == frame["event"] and parsed.channel == frame["channel"]
        expected = data if isinstance(data, str) else orjson.dumps(data).decode()
        assert parsed.data == expected
