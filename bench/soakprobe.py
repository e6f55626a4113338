"""The soak's two probes of the server's event loop (:mod:`bench.soak`): the
``pusherd_event_loop_lag_seconds`` gauge from ``/metrics`` when the server has it, and the round
trip of a ``pusher:ping`` from a process of its own (so the load generator's pauses are not
counted)."""

from __future__ import annotations

import asyncio
import socket
import time

from bench.wsclient import event_frame

__all__ = ["LAG_METRIC", "probe_main", "scrape_lag"]

LAG_METRIC = "pusherd_event_loop_lag_seconds"


async def scrape_lag(port: int, token: str) -> float | None:
    """``pusherd_event_loop_lag_seconds`` from ``/metrics`` (None when absent or refused)."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n".encode()
        )
        raw = await asyncio.wait_for(reader.read(), 10.0)
        writer.close()
    except (OSError, TimeoutError):
        return None
    for line in raw.decode(errors="replace").splitlines():
        name, _, value = line.partition(" ")
        if name == LAG_METRIC or name.startswith(LAG_METRIC + "{"):
            try:
                return float(value.split()[0])
            except (ValueError, IndexError):
                return None
    return None


class _Frames:
    """Server frames (unmasked) from one blocking socket; the probe's whole parser."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the probe's connection")
            self.buf += chunk

    def handshake(self) -> None:
        while b"\r\n\r\n" not in self.buf:
            self._need(len(self.buf) + 1)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"upgrade refused: {head[:80]!r}")

    def next_payload(self) -> bytes:
        self._need(2)
        length, head = self.buf[1] & 0x7F, 2
        if length == 126:
            self._need(4)
            length, head = int.from_bytes(self.buf[2:4], "big"), 4
        elif length == 127:
            self._need(10)
            length, head = int.from_bytes(self.buf[2:10], "big"), 10
        self._need(head + length)
        payload, self.buf = self.buf[head : head + length], self.buf[head + length :]
        return payload


def probe_main(port: int, key: str, interval_s: float) -> None:
    """The ping probe, in its own process: one blocking socket, one ``pusher:ping`` per
    ``interval_s``; prints ``<unix time> <round trip s>`` per ping."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"GET /app/{key}?protocol=7&client=js&version=8.6.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: c29hay1wcm9iZS1rZXktMQ==\r\n\r\n".encode()
    )
    frames = _Frames(sock)
    frames.handshake()
    ping = event_frame("pusher:ping", {})
    while True:
        started = time.perf_counter()
        sock.sendall(ping)
        while b'"pusher:pong"' not in frames.next_payload():
            pass
        print(f"{time.time():.3f} {time.perf_counter() - started:.6f}", flush=True)
        time.sleep(max(0.0, interval_s - (time.perf_counter() - started)))
