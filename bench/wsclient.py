"""A minimal Pusher WebSocket client for load generation.

One ``asyncio.Protocol`` per connection, with its own HTTP upgrade and frame parser: no library
between the socket and the counter. Server frames are unmasked, so counting one costs a two-byte
header read and a ``bytes.find``; payloads are parsed (orjson) only while a connection is being set
up, on sampled connections, or for frames the fast path does not recognise.

Client frames are masked with an all-zero masking key (legal per RFC 6455; the payload bytes are
then unchanged), so every frame a client sends is built once and reused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import socket
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any, cast

import orjson

APP_KEY_QUERY = "protocol=7&client=js&version=8.6.0&flash=false"
EVENT_NAME = "bench.ev"
_EVENT_MARK = EVENT_NAME.encode()
_SEQ_KEY = b'seq\\":'
_T_KEY = b't\\":'
_LINGER_RST = struct.pack("ii", 1, 0)
SO_TIMESTAMPNS: int = getattr(socket, "SO_TIMESTAMPNS", 35)  # == SCM_TIMESTAMPNS on Linux
_TIMESPEC = struct.Struct("qq")
_TS_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)
_RECV_BUF = bytearray(65536)  # shared by every raw reader (one thread)
_RECV_VIEW = memoryview(_RECV_BUF)
_DEFLATE_OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
_DEFLATE_TAIL = b"\x00\x00\xff\xff"

# What a connection does with text frames once it is set up.
MODE_SETUP = 0  # parse every frame (handshake, subscribe)
MODE_COUNT = 1  # count channel events; optionally check sequence numbers and latency
MODE_PING = 2  # pair side A: on client-pong, count a round trip and send the next client-ping
MODE_PONG = 3  # pair side B: on client-ping, answer client-pong


def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A final client frame masked with the all-zero key (so the payload is sent as is)."""
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        header = bytes((first, 0x80 | n))
    elif n < 65536:
        header = bytes((first, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((first, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + b"\x00\x00\x00\x00" + payload


def event_frame(event: str, data: Any, channel: str | None = None) -> bytes:
    msg: dict[str, Any] = {"event": event, "data": data}
    if channel is not None:
        msg["channel"] = channel
    return client_frame(orjson.dumps(msg))


def private_auth(key: str, secret: str, socket_id: str, channel: str) -> str:
    """``<key>:<hex HMAC-SHA256 of "socket_id:channel">`` (protocol reference §5.1)."""
    sig = hmac.new(secret.encode(), f"{socket_id}:{channel}".encode(), hashlib.sha256).hexdigest()
    return f"{key}:{sig}"


def _int_after(data: bytes, key: bytes, start: int, end: int) -> int:
    """The unsigned integer that follows ``key`` in ``data[start:end]``; -1 when absent."""
    i = data.find(key, start, end)
    if i < 0:
        return -1
    i += len(key)
    j = i
    while j < end and 48 <= data[j] <= 57:
        j += 1
    return int(data[i:j]) if j > i else -1


class Stats:
    """Counters shared by every connection of one scenario run."""

    __slots__ = (
        "delivered",
        "wake_at",
        "_waiters",
        "latencies_ns",
        "seq_errors",
        "round_trips",
        "errors",
        "closed",
        "close_codes",
        "other_frames",
        "reads",
        "untimestamped",
        "latency_since_ns",
        "spurious",
        "untimed",
        "completion_ns",
        "bytes_in",
        "deflated",
    )

    def __init__(self) -> None:
        self.delivered = 0
        self.wake_at = 1 << 62
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.latencies_ns: list[int] | None = None
        self.seq_errors = 0
        self.round_trips = 0
        self.errors: list[str] = []
        self.closed = 0
        self.close_codes: dict[int, int] = {}
        self.other_frames = 0
        self.reads = 0  # data_received calls
        self.untimestamped = 0  # raw reads without a kernel timestamp
        self.latency_since_ns = 0  # only events triggered from then on are timed
        self.spurious = 0  # raw readable callbacks that found nothing to read
        self.untimed = 0  # deliveries not timed: read together with a later one (kernel clock)
        self.completion_ns: dict[int, int] = {}  # trigger time -> latency of its last delivery
        self.bytes_in = 0  # WebSocket bytes received (frames and headers; no TCP/IP headers)
        self.deflated = 0  # connections that negotiated permessage-deflate

    def error(self, text: str) -> None:
        if len(self.errors) < 1000:
            self.errors.append(text)

    async def wait_delivered(self, target: int, timeout: float) -> bool:
        """Wait until ``delivered >= target``; False on timeout."""
        if self.delivered >= target:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        self.wake_at = min(self.wake_at, target)
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters = [w for w in self._waiters if w[1] is not fut]
            self.wake_at = min((t for t, _ in self._waiters), default=1 << 62)

    def fire(self) -> None:
        d = self.delivered
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, fut in self._waiters:
            if target <= d:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((target, fut))
        self._waiters = keep
        self.wake_at = min((t for t, _ in keep), default=1 << 62)


class PusherClient(asyncio.Protocol):
    __slots__ = (
        "stats",
        "host",
        "key",
        "transport",
        "buf",
        "upgraded",
        "mode",
        "socket_id",
        "established",
        "pending",
        "events",
        "seen",
        "check_seq",
        "latency",
        "reply",
        "trigger",
        "lost",
        "raw",
        "offer_deflate",
        "sent_ns",
    )

    def __init__(self, stats: Stats, host: str, key: str, offer_deflate: bool = False) -> None:
        self.stats = stats
        self.host = host
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.mode = MODE_SETUP
        self.socket_id = ""
        loop = asyncio.get_running_loop()
        self.established: asyncio.Future[str] = loop.create_future()
        self.pending: asyncio.Future[None] | None = None
        self.events = 0  # channel events counted in MODE_COUNT
        self.seen: set[int] = set()  # sequence numbers received (checked connections only)
        self.check_seq = False
        self.latency = False
        self.reply = b""  # frame sent back in MODE_PING / MODE_PONG
        self.trigger = b""  # text that triggers ``reply``
        self.lost = False
        self.raw: socket.socket | None = None  # dup of the socket, read with kernel timestamps
        self.offer_deflate = offer_deflate  # offer permessage-deflate, as browsers do
        self.sent_ns = 0  # when the last frame was written (MODE_PING round-trip times)

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        ws_key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET /app/{self.key}?{APP_KEY_QUERY} HTTP/1.1\r\n"
                f"Host: {self.host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {ws_key}\r\nSec-WebSocket-Version: 13\r\n"
                + (_DEFLATE_OFFER if self.offer_deflate else "")
                + "\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._drop_raw()
        if not self.lost:
            self.lost = True
            self.stats.closed += 1
        err = ConnectionError(f"connection lost: {exc!r}")
        if not self.established.done():
            self.established.set_exception(err)
        if self.pending is not None and not self.pending.done():
            self.pending.set_exception(err)

    def data_received(self, data: bytes) -> None:
        # Receive time of every frame in this read: when the read is handed to us.
        self._feed(data, time.time_ns() if self.latency else 0)

    def _feed(self, data: bytes, now: int) -> None:
        """Parse frames from ``data``; ``now`` is the receive time (ns, CLOCK_REALTIME)."""
        self.stats.reads += 1
        self.stats.bytes_in += len(data)
        if self.buf:
            data = self.buf + data
            self.buf = b""
        pos = 0
        if not self.upgraded:
            head_end = data.find(b"\r\n\r\n")
            if head_end < 0:
                self.buf = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                line = data[: data.find(b"\r\n")].decode(errors="replace")
                self._fail(f"upgrade refused: {line}")
                return
            self.upgraded = True
            if b"permessage-deflate" in data[:head_end]:
                self.stats.deflated += 1
            pos = head_end + 4
        n = len(data)
        counted = 0
        mode = self.mode
        timed_start = timed_end = -1
        while n - pos >= 2:
            b1 = data[pos + 1]
            if b1 < 126:
                start = pos + 2
                end = start + b1
            elif b1 == 126:
                if n - pos < 4:
                    break
                start = pos + 4
                end = start + ((data[pos + 2] << 8) | data[pos + 3])
            else:
                if n - pos < 10:
                    break
                start = pos + 10
                end = start + int.from_bytes(data[pos + 2 : pos + 10], "big")
            if end > n:
                break
            b0 = data[pos]
            if b0 == 0x81:  # final text frame
                if mode == MODE_COUNT and data.find(_EVENT_MARK, start, end) >= 0:
                    counted += 1
                    if self.check_seq:
                        self._check_seq(data, start, end)
                    if self.latency:
                        if timed_end >= 0:
                            # Not the last frame of this read. With a kernel timestamp (that
                            # of the newest bytes: TCP merges queued segments) it would be
                            # charged the next frame's arrival, so it is left untimed.
                            if self.raw is not None:
                                self.stats.untimed += 1
                            else:
                                self._time(data, timed_start, timed_end, now)
                        timed_start, timed_end = start, end
                elif mode == MODE_PING and data.find(self.trigger, start, end) >= 0:
                    self.stats.round_trips += 1
                    self.events += 1
                    rtt = self.stats.latencies_ns
                    if self.latency and rtt is not None and self.sent_ns:
                        rtt.append(now - self.sent_ns)  # read time of the pong - ping sent
                    self._send(self.reply)
                elif mode == MODE_PONG and data.find(self.trigger, start, end) >= 0:
                    self.events += 1
                    self._send(self.reply)
                else:
                    self._text(data[start:end])
            elif b0 == 0xC1:  # compressed final text frame (permessage-deflate, RFC 7692)
                if mode == MODE_COUNT and not self.check_seq:
                    # Only channel events are long enough to be compressed: count unread.
                    counted += 1
                else:
                    payload = zlib.decompressobj(-15).decompress(data[start:end] + _DEFLATE_TAIL)
                    if mode == MODE_COUNT and payload.find(_EVENT_MARK) >= 0:
                        counted += 1
                        self._check_seq(payload, 0, len(payload))
                    else:
                        self._text(payload)
            else:
                self._control(b0, data[start:end])
            pos = end
        if pos < n:
            self.buf = data[pos:]
        if timed_end >= 0:
            self._time(data, timed_start, timed_end, now)
        if counted:
            self.events += counted
            st = self.stats
            st.delivered += counted
            if st.delivered >= st.wake_at:
                st.fire()

    # -- frames ----------------------------------------------------------------------------
    def _check_seq(self, data: bytes, start: int, end: int) -> None:
        seq = _int_after(data, _SEQ_KEY, start, end)
        if seq < 0 or seq in self.seen:
            self.stats.seq_errors += 1
            self.stats.error(f"{self.socket_id}: duplicate or unreadable seq {seq}")
        self.seen.add(seq)

    def _time(self, data: bytes, start: int, end: int, now: int) -> None:
        lat = self.stats.latencies_ns
        if lat is not None:
            t = _int_after(data, _T_KEY, start, end)
            if t >= self.stats.latency_since_ns:
                d = now - t
                lat.append(d)
                last = self.stats.completion_ns
                if d > last.get(t, 0):
                    last[t] = d

    def _text(self, payload: bytes) -> None:
        try:
            msg = orjson.loads(payload)
            event = msg.get("event")
        except (orjson.JSONDecodeError, AttributeError):
            self.stats.error(f"bad frame: {payload[:200]!r}")
            return
        if event == "pusher:connection_established":
            data = msg["data"]
            info = orjson.loads(data) if isinstance(data, str) else data
            self.socket_id = str(info["socket_id"])
            if not self.established.done():
                self.established.set_result(self.socket_id)
        elif event == "pusher_internal:subscription_succeeded":
            if self.pending is not None and not self.pending.done():
                self.pending.set_result(None)
        elif event in ("pusher:error", "pusher:subscription_error"):
            text = f"{event}: {orjson.dumps(msg.get('data')).decode()}"
            self.stats.error(text)
            if self.pending is not None and not self.pending.done():
                self.pending.set_exception(RuntimeError(text))
            if not self.established.done():
                self.established.set_exception(RuntimeError(text))
        elif event == "pusher:ping":
            self._send(event_frame("pusher:pong", {}))
        else:
            self.stats.other_frames += 1

    def _control(self, b0: int, payload: bytes) -> None:
        op = b0 & 0x0F
        if op == 0x9:  # ping -> pong with the same payload
            self._send(client_frame(payload, 0xA))
        elif op == 0x8:  # close
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.stats.close_codes[code] = self.stats.close_codes.get(code, 0) + 1
            self._fail(f"closed by server with code {code} {payload[2:]!r}")
        elif op == 0xA:
            pass
        else:
            self.stats.error(f"unexpected frame type 0x{b0:02x}")

    def _send(self, frame: bytes) -> None:
        if self.transport is not None and not self.lost:
            if self.latency:
                self.sent_ns = time.time_ns()
            self.transport.write(frame)

    def _fail(self, text: str) -> None:
        self.stats.error(text)
        exc = RuntimeError(text)
        if not self.established.done():
            self.established.set_exception(exc)
        if self.pending is not None and not self.pending.done():
            self.pending.set_exception(exc)
        self.abort()

    # -- API -------------------------------------------------------------------------------
    async def subscribe(
        self, channel: str, auth: str = "", timeout: float = 30.0, channel_data: str | None = None
    ) -> None:
        """Subscribe and wait for ``subscription_succeeded``; ``channel_data`` for presence."""
        self.pending = asyncio.get_running_loop().create_future()
        data = {"auth": auth, "channel": channel}
        if channel_data is not None:
            data["channel_data"] = channel_data
        self._send(event_frame("pusher:subscribe", data))
        await asyncio.wait_for(self.pending, timeout)
        self.pending = None

    def send(self, frame: bytes) -> None:
        self._send(frame)

    # -- kernel receive timestamps ---------------------------------------------------------
    def use_kernel_timestamps(self) -> bool:
        """From now on read this connection's socket ourselves with ``recvmsg`` and take each
        read's receive time from the kernel (SO_TIMESTAMPNS: when the bytes reached this
        socket), so the load generator's own processing delay is not counted as latency.
        The uvloop transport keeps writing; its reading is paused. False when unsupported."""
        tr = self.transport
        sock = tr.get_extra_info("socket") if tr is not None else None
        if sock is None or self.lost or self.raw is not None:
            return False
        fd = os.dup(sock.fileno())
        raw = socket.socket(fileno=fd)
        try:
            raw.setblocking(False)
            raw.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            raw.close()
            return False
        assert tr is not None
        tr.pause_reading()
        self.raw = raw
        asyncio.get_running_loop().add_reader(fd, self._raw_readable)
        return True

    def _raw_readable(self) -> None:
        raw = self.raw
        if raw is None:
            return
        try:
            # recvmsg_into a shared buffer: recvmsg(n) would allocate (mmap) n bytes per call.
            size, ancdata, _, _ = raw.recvmsg_into([_RECV_BUF], _TS_SPACE)
            data = _RECV_VIEW[:size].tobytes()
        except (BlockingIOError, InterruptedError):
            self.stats.spurious += 1
            return
        except OSError as exc:
            self.connection_lost(exc)
            return
        if not data:
            self.connection_lost(None)
            return
        ts = 0
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(cdata) >= 16:
                sec, nsec = _TIMESPEC.unpack_from(cdata)
                ts = sec * 1_000_000_000 + nsec
        if ts == 0:
            self.stats.untimestamped += 1
            ts = time.time_ns()
        self._feed(data, ts)

    def _drop_raw(self) -> None:
        raw, self.raw = self.raw, None
        if raw is not None:
            try:
                asyncio.get_running_loop().remove_reader(raw.fileno())
            except RuntimeError:
                pass
            raw.close()

    def abort(self) -> None:
        """Close with a RST (no TIME_WAIT left behind on the load side)."""
        self._drop_raw()
        tr = self.transport
        if tr is None or tr.is_closing():
            return
        sock = tr.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
            except OSError:
                pass
        tr.abort()


async def connect(
    port: int,
    stats: Stats,
    key: str,
    timeout: float = 30.0,
    client_class: type[PusherClient] | None = None,
    offer_deflate: bool = False,
) -> PusherClient:
    """Open one connection and wait for ``connection_established``; ``client_class`` lets a
    scenario use a subclass (the soak's per-period accounting)."""
    loop = asyncio.get_running_loop()
    host = f"127.0.0.1:{port}"
    cls = client_class or PusherClient

    def factory() -> PusherClient:
        return cls(stats, host, key, offer_deflate)

    _, proto = await asyncio.wait_for(loop.create_connection(factory, "127.0.0.1", port), timeout)
    try:
        await asyncio.wait_for(asyncio.shield(proto.established), timeout)
    except BaseException:
        proto.abort()
        raise
    return proto


async def open_many(
    port: int,
    count: int,
    stats: Stats,
    key: str,
    channel_for: Callable[[int], str | None],
    auth_for: Callable[[int, str, str], str] | None = None,
    concurrency: int = 200,
    timeout: float = 60.0,
    offer_deflate: bool = False,
) -> list[PusherClient]:
    """Open ``count`` connections (at most ``concurrency`` handshakes at a time) and subscribe
    connection i to ``channel_for(i)`` (None: no subscription)."""
    clients: list[PusherClient | None] = [None] * count
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            c = await connect(port, stats, key, timeout, offer_deflate=offer_deflate)
            clients[i] = c
            ch = channel_for(i)
            if ch is not None:
                auth = auth_for(i, c.socket_id, ch) if auth_for is not None else ""
                await c.subscribe(ch, auth, timeout)

    tasks = [asyncio.ensure_future(one(i)) for i in range(count)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        close_all([c for c in clients if c is not None])
        raise
    return [c for c in clients if c is not None]


def close_all(clients: list[PusherClient]) -> None:
    for c in clients:
        c.abort()
