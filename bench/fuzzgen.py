"""Seed-controlled generators of hostile input for the black-box fuzzer (issue 10).

Everything here is a pure function of a ``random.Random``: the same seed gives the same bytes,
so a finding is reproduced by its seed and case number. Two kinds of case (the second in
:mod:`bench.fuzzhttp`):

- :class:`WsCase`: an upgrade (sometimes with a mutated query) and then raw client frames:
  benign ones (Pusher events, junk JSON, huge names, pings, valid fragments) followed, most of
  the time, by one terminal violation whose close code RFC 6455 / the Pusher protocol fixes
  (``expect_close``), which the driver checks as an oracle.
- :class:`HttpCase`: one raw HTTP request, signed or not, with mutated queries, bodies and
  framing (``Content-Length``, chunked, bad chunks, junk heads).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

import orjson

__all__ = ["FuzzGenerator", "WsCase", "client_frame"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: Close codes a client may not send (RFC 6455 §7.4.1): the server must answer 1002.
BAD_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)


@dataclass(frozen=True, slots=True)
class WsCase:
    query: str
    frames: tuple[bytes, ...]
    #: Close codes the server may answer the terminal frame with; empty: no oracle.
    expect_close: frozenset[int]
    kind: str


def client_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = b"\x00\x00\x00\x00",
    length: int | None = None,
) -> bytes:
    """A client frame; ``mask=None`` leaves it unmasked, ``length`` overrides the length field."""
    declared = len(payload) if length is None else length
    head = bytes(((0x80 if fin else 0) | (rsv << 4) | opcode,))
    mask_bit = 0x80 if mask is not None else 0
    if declared < 126:
        head += bytes((mask_bit | declared,))
    elif declared < 65536:
        head += bytes((mask_bit | 126,)) + struct.pack("!H", declared)
    else:
        head += bytes((mask_bit | 127,)) + struct.pack("!Q", declared)
    if mask is None:
        return head + payload
    size = len(payload)
    key = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload) ^ int.from_bytes(key)).to_bytes(size)
    return head + mask + masked


class FuzzGenerator:
    """Cases for one app; ``now`` gives the Unix time that signed requests carry."""

    def __init__(
        self,
        rng: random.Random,
        *,
        app_id: str,
        key: str,
        secret: str,
        now: Callable[[], float],
        huge_name_bytes: int = 200_000,
        max_empty_fragments: int = 2_000,
    ) -> None:
        self.rng = rng
        self.app_id = app_id
        self.key = key
        self.secret = secret
        self.now = now
        self.huge_name_bytes = huge_name_bytes
        self.max_empty_fragments = max_empty_fragments

    # -- shared pieces ---------------------------------------------------------------------

    def _mask(self) -> bytes:
        return self.rng.randbytes(4)

    def _text(self, payload: bytes) -> bytes:
        return client_frame(OP_TEXT, payload, mask=self._mask())

    def channel_name(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            prefix = rng.choice(["", "private-", "presence-", "private-encrypted-", "cache-"])
            return prefix + "".join(rng.choices("abcxyz-_=@,.;0189", k=rng.randint(1, 30)))
        if roll < 0.7:
            return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 40)))
        if roll < 0.8:
            return "#server-to-user-" + str(rng.getrandbits(32))
        if roll < 0.9:
            return "a" * rng.randint(160, 300)
        return "x" * rng.randint(1, self.huge_name_bytes)

    def junk_json(self, depth: int = 0) -> object:
        rng = self.rng
        roll = rng.randint(0, 9 if depth < 4 else 5)
        if roll == 0:
            return None
        if roll == 1:
            return rng.choice([True, False])
        if roll == 2:
            return rng.choice([0, -1, 2**53, 2**63 - 1, -(2**63), 1.5e308, -0.0])
        if roll in (3, 4, 5):
            return "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(rng.randint(0, 20)))
        if roll in (6, 7):
            return [self.junk_json(depth + 1) for _ in range(rng.randint(0, 4))]
        keys = ["event", "data", "channel", "auth", "channel_data", "user_data", "name"]
        return {
            rng.choice(keys) if rng.random() < 0.7 else str(rng.random()): self.junk_json(depth + 1)
            for _ in range(rng.randint(0, 5))
        }

    # -- WebSocket ---------------------------------------------------------------------------

    def _pusher_event(self) -> bytes:
        rng = self.rng
        roll = rng.randint(0, 11)
        channel = self.channel_name()
        if roll == 0:
            return b'{"event":"pusher:ping","data":{}}'
        if roll in (1, 2):
            return orjson.dumps({"event": "pusher:subscribe", "data": {"channel": channel}})
        if roll == 3:
            data = {"channel": channel, "auth": f"{self.key}:{rng.getrandbits(64):x}"}
            if rng.random() < 0.5:
                data["channel_data"] = orjson.dumps(self.junk_json()).decode()
            return orjson.dumps({"event": "pusher:subscribe", "data": data})
        if roll == 4:
            return orjson.dumps({"event": "pusher:unsubscribe", "data": {"channel": channel}})
        if roll == 5:
            return orjson.dumps(
                {"event": f"client-{rng.getrandbits(16)}", "channel": channel, "data": "{}"}
            )
        if roll == 6:
            data = {"auth": f"{self.key}:00", "user_data": orjson.dumps(self.junk_json()).decode()}
            return orjson.dumps({"event": "pusher:signin", "data": data})
        if roll == 7:
            return orjson.dumps(self.junk_json())
        if roll == 8:
            opening = rng.choice([b"[", b"{", b'{"a":['])
            return opening * rng.randint(1, 20_000)
        if roll == 9:
            return rng.randbytes(rng.randint(0, 200)).decode("utf-8", "replace").encode()
        if roll == 10:
            if rng.random() < 0.5:
                return b'{"event":"pusher:subscribe","data":{"channel":9' + b"9" * 5000 + b"}}"
            return b'{"event":"pusher:subscribe","data":{"channel":"'[: rng.randint(1, 40)]
        return orjson.dumps({"event": "x" * rng.randint(1, 5000), "data": self.junk_json()})

    def _benign_frames(self) -> list[bytes]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.65:
            return [self._text(self._pusher_event())]
        if roll < 0.75:
            return [client_frame(OP_PING, rng.randbytes(rng.randint(0, 125)), mask=self._mask())]
        if roll < 0.8:
            return [client_frame(OP_PONG, rng.randbytes(rng.randint(0, 20)), mask=self._mask())]
        # A valid fragmented message, with a ping between fragments (RFC 6455 §5.4 allows it).
        payload = self._pusher_event()
        cuts = sorted(rng.randint(0, len(payload)) for _ in range(rng.randint(1, 4)))
        pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        frames = []
        for index, piece in enumerate(pieces):
            opcode = OP_TEXT if index == 0 else OP_CONT
            is_last = index == len(pieces) - 1
            frames.append(client_frame(opcode, piece, fin=is_last, mask=self._mask()))
            if not is_last and rng.random() < 0.3:
                frames.append(client_frame(OP_PING, b"", mask=self._mask()))
        return frames

    def _violation(self) -> tuple[list[bytes], frozenset[int], str]:
        """One terminal frame (or run) and the close codes the server may answer it with."""
        rng = self.rng
        mask = self._mask()
        protocol_error = frozenset({1002})
        roll = rng.randint(0, 14)
        if roll == 0:
            return [client_frame(OP_TEXT, b"{}", mask=None)], protocol_error, "unmasked"
        if roll == 1:
            rsv = rng.randint(1, 7)
            return [client_frame(OP_TEXT, b"{}", rsv=rsv, mask=mask)], protocol_error, "rsv"
        if roll == 2:
            opcode = rng.choice([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
            return [client_frame(opcode, b"x", mask=mask)], protocol_error, "opcode"
        if roll == 3:
            frame = client_frame(OP_PING, b"p" * rng.randint(126, 400), mask=mask)
            return [frame], protocol_error, "control-too-long"
        if roll == 4:
            return [client_frame(OP_PING, b"", fin=False, mask=mask)], protocol_error, "ctl-frag"
        if roll == 5:
            return [client_frame(OP_CONT, b"x", mask=mask)], protocol_error, "cont-no-start"
        if roll == 6:
            frames = [
                client_frame(OP_TEXT, b'{"ev', fin=False, mask=mask),
                client_frame(OP_TEXT, b"x", mask=mask),
            ]
            return frames, protocol_error, "text-in-fragment"
        if roll == 7:
            frame = client_frame(
                OP_TEXT, b"", mask=mask, length=rng.choice([2**62, 2**31, 300_000])
            )
            return [frame], frozenset({1009}), "length-too-big"
        if roll == 8:
            code = rng.choice(BAD_CLOSE_CODES)
            frame = client_frame(OP_CLOSE, struct.pack("!H", code) + b"bye", mask=mask)
            return [frame], protocol_error, f"close-code-{code}"
        if roll == 9:
            return [client_frame(OP_CLOSE, b"\x03", mask=mask)], protocol_error, "close-1-byte"
        if roll == 10:
            bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
            frame = client_frame(OP_TEXT, b'{"event":"' + bad + b'"}', mask=mask)
            return [frame], frozenset({1007}), "invalid-utf8"
        if roll == 11:
            frame = client_frame(OP_BINARY, b'{"event":"pusher:ping"}', mask=mask)
            return [frame], frozenset(), "binary"
        if roll == 12:
            count = rng.randint(10, self.max_empty_fragments)
            frames = [client_frame(OP_TEXT, b"{", fin=False, mask=mask)]
            frames += [client_frame(OP_CONT, b"", fin=False, mask=mask)] * count
            return frames, frozenset(), f"empty-fragments-{count // 500 * 500}"
        if roll == 13:
            code = rng.choice([1000, 1001, 3000, 4000, 4999])
            frame = client_frame(OP_CLOSE, struct.pack("!H", code), mask=mask)
            return [frame], frozenset(), "close-valid"
        flipped = bytearray(self._text(self._pusher_event()))
        for _ in range(rng.randint(1, 4)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        return [bytes(flipped)], frozenset(), "bit-flip"

    def _query(self) -> tuple[str, frozenset[int], str]:
        rng = self.rng
        if rng.random() < 0.93:
            return "protocol=7&client=js&version=8.4.0", frozenset(), ""
        choices: list[tuple[str, frozenset[int], str]] = [
            ("protocol=" + "7" * 5000, frozenset({4006, 4007}), "protocol-5000-digits"),
            ("protocol=" + str(10**20), frozenset({4006, 4007}), "protocol-huge"),
            ("protocol=abc", frozenset({4006}), "protocol-text"),
            ("protocol=4", frozenset({4007}), "protocol-old"),
            ("", frozenset({4008}), "protocol-missing"),
            ("protocol=%ff%00&protocol=7", frozenset(), "protocol-junk"),
        ]
        return rng.choice(choices)

    def ws_case(self, frame_budget: int) -> WsCase:
        """About ``frame_budget`` frames; a mutated handshake ends the case at once."""
        query, handshake_codes, handshake_kind = self._query()
        if handshake_kind:
            return WsCase(query, (), handshake_codes, handshake_kind)
        frames: list[bytes] = []
        while len(frames) < frame_budget:
            frames.extend(self._benign_frames())
        if self.rng.random() < 0.85:
            terminal, codes, kind = self._violation()
            return WsCase(query, (*frames, *terminal), codes, kind)
        return WsCase(query, tuple(frames), frozenset(), "benign")
