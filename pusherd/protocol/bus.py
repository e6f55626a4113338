"""The bus envelope: how an already-encoded event travels through Redis to every pusherd node.

The bus is a Redis **stream** (``{prefix}bus``, entries with one field ``m``), not a pub/sub
channel: every node reads it from the last entry id it saw, so a node that loses its Redis
connection, or a Redis that restarts, costs no event — the node resumes where it stopped.
Publishers append with ``XADD … MAXLEN ~`` so the stream stays bounded.

One message carries one channel's frame. The header is a small JSON object on the first line;
the frame bytes follow unchanged, so a node reads only the header and hands the rest to the
fan-out (house style §2: nothing decodes and re-encodes the event on its way).

Wire form (version 1)::

    PD1 {"app":"1","channel":"sports.football","except":null}\\n{"event":…,"channel":…,"data":…}

A node that publishes for its own subscribers adds ``"node"`` to the header and skips the
message when it comes back to it; publishers outside pusherd (the poller) leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = [
    "BUS_FIELD",
    "BUS_MAX_LENGTH",
    "BusFormatError",
    "BusMessage",
    "bus_stream",
    "decode_bus_message",
    "encode_bus_message",
]

_MAGIC = b"PD1 "
#: The stream entry's one field, holding the envelope.
BUS_FIELD = b"m"
#: Approximate bound of the stream (``XADD MAXLEN ~``): minutes of traffic for a reader to catch
#: up after a reconnect, without letting the stream grow forever.
BUS_MAX_LENGTH = 100_000


def bus_stream(prefix: str) -> str:
    """The Redis stream outside publishers (the poller) append envelopes to."""
    return f"{prefix}bus"


class BusFormatError(ValueError):
    """A message on the bus that is not a version-1 envelope."""


@dataclass(frozen=True, slots=True)
class BusMessage:
    app_id: str
    channel: str
    except_socket_id: str | None
    frame: bytes
    origin_node: str | None = None


def encode_bus_message(
    app_id: str,
    channel: str,
    frame: bytes,
    except_socket_id: str | None = None,
    *,
    origin_node: str | None = None,
) -> bytes:
    fields = {"app": app_id, "channel": channel, "except": except_socket_id}
    if origin_node is not None:
        fields["node"] = origin_node
    header = orjson.dumps(fields)
    return b"".join((_MAGIC, header, b"\n", frame))


def decode_bus_message(message: bytes) -> BusMessage:
    """Split an envelope into header fields and the untouched frame bytes.

    Raises:
        BusFormatError: the message is not a version-1 envelope.
    """
    if not message.startswith(_MAGIC):
        raise BusFormatError("not a PD1 envelope")
    newline = message.find(b"\n", len(_MAGIC))
    if newline < 0:
        raise BusFormatError("envelope has no header line")
    try:
        header = orjson.loads(message[len(_MAGIC) : newline])
    except orjson.JSONDecodeError as exc:
        raise BusFormatError("envelope header is not JSON") from exc
    if not isinstance(header, dict):
        raise BusFormatError("envelope header is not an object")
    app_id, channel, except_socket = header.get("app"), header.get("channel"), header.get("except")
    if not isinstance(app_id, str) or not isinstance(channel, str):
        raise BusFormatError("envelope header lacks app or channel")
    if except_socket is not None and not isinstance(except_socket, str):
        raise BusFormatError("envelope 'except' is not a string")
    origin = header.get("node")
    if origin is not None and not isinstance(origin, str):
        raise BusFormatError("envelope 'node' is not a string")
    return BusMessage(app_id, channel, except_socket, message[newline + 1 :], origin)
