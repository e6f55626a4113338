"""Black-box fuzzing of a live ``python -m pusherd --no-poller`` on 127.0.0.1 (issue 10).

```sh
.venv/bin/python -m bench.fuzz --frames 1000000 --seed 1     # the long run, minutes
.venv/bin/python -m bench.fuzz --frames 20000 --seed 7       # a smoke run
```

Mutated WebSocket frames (after a real upgrade) and mutated HTTP requests from
:mod:`bench.fuzzgen`, sent by ``--concurrency`` workers, while a control client (a real
``websockets`` client subscribed to a channel, fed by signed triggers from the ``pusher`` SDK)
checks once a second that the server still delivers. Reported: frames/s, HTTP requests, peak
RSS, control-event latency, and every finding: a 5xx, a missing answer, a close code other than
the one RFC 6455 / the Pusher protocol fixes, an "Internal server error" frame, an ERROR or
traceback in the server's log. The exit status is 1 when anything was found.
:mod:`tests.fuzz.test_fuzz_live` runs the same thing, bounded, in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import struct
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import pusher
import websockets

from bench.fuzzgen import FuzzGenerator, WsCase, client_frame
from bench.fuzzhttp import HttpCase, HttpFuzzer
from bench.liveserver import (
    APP_ID,
    APP_KEY,
    APP_SECRET,
    ServerProcess,
    log_errors,
    rss_bytes,
    server_process,
)

__all__ = ["FuzzReport", "fuzz", "main"]

CONTROL_CHANNEL = "control-channel"
_HANDSHAKE = (
    "GET /app/{key}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)


@dataclass
class FuzzReport:
    frames: int = 0
    ws_cases: int = 0
    http_requests: int = 0
    seconds: float = 0.0
    baseline_rss_bytes: int = 0
    peak_rss_bytes: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    control_events: int = 0
    control_failures: int = 0
    control_max_latency_s: float = 0.0
    log_errors: list[str] = field(default_factory=list)

    def find(self, kind: str, example: str) -> None:
        self.findings[kind] += 1
        self.examples.setdefault(kind, example[:300])


def _server_frames(buffer: bytearray) -> Iterator[tuple[int, bytes]]:
    """Complete unmasked server frames at the front of ``buffer`` (consumed as read)."""
    while len(buffer) >= 2:
        opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return
            (length,), offset = struct.unpack_from("!H", buffer, 2), 4
        elif length == 127:
            if len(buffer) < 10:
                return
            (length,), offset = struct.unpack_from("!Q", buffer, 2), 10
        if len(buffer) < offset + length:
            return
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        yield opcode, payload


async def _ws_case(host: str, port: int, case: WsCase, report: FuzzReport, wait_s: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(_HANDSHAKE.format(key=APP_KEY, query=case.query).encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait_s)
        status = int(head.split(b" ", 2)[1])
        if status >= 500:
            report.find(f"ws-handshake-{status}", case.kind)
        if status != 101:
            return
        if case.frames:
            writer.write(b"".join(case.frames))
        if not case.expect_close:
            # Ends the case quickly. Not after a frame the server must close on: bytes arriving
            # after its close would be answered with a reset that can swallow its close frame.
            writer.write(client_frame(0x8, struct.pack("!H", 1000)))
        report.frames += len(case.frames)
        buffer, close_code = bytearray(), None
        deadline = time.monotonic() + wait_s
        while close_code is None and time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
            except (TimeoutError, ConnectionError):
                break
            if not data:
                break
            buffer += data
            for opcode, payload in _server_frames(buffer):
                if opcode == 0x1 and b"Internal server error" in payload:
                    report.find("internal-error-frame", f"{case.kind}: {payload[:200]!r}")
                if opcode == 0x8:
                    close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    break
        if case.expect_close and close_code not in case.expect_close:
            expected = sorted(case.expect_close)
            report.find(f"close-{case.kind}", f"expected {expected}, got {close_code}")
        elif close_code == 1011:
            report.find("close-1011", case.kind)
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError) as exc:
        if case.expect_close:
            report.find(f"dropped-{case.kind}", repr(exc))
    finally:
        writer.transport.abort()


async def _http_case(
    host: str, port: int, case: HttpCase, report: FuzzReport, wait_s: float
) -> None:
    report.http_requests += 1
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(case.request)
        try:
            line = await asyncio.wait_for(reader.readline(), wait_s if case.expects_answer else 0.2)
        except TimeoutError:
            line = b""
        if not line:
            if case.expects_answer:
                report.find(f"no-answer-{case.kind}", case.request[:200].decode("latin-1"))
            return
        status = int(line.split(b" ", 2)[1])
        if status >= 500:
            report.find(f"http-{status}", case.request[:300].decode("latin-1"))
    except (ConnectionError, asyncio.IncompleteReadError):
        if case.expects_answer:
            report.find(f"reset-{case.kind}", case.request[:200].decode("latin-1"))
    finally:
        writer.transport.abort()


async def _control(host: str, port: int, report: FuzzReport, stop: asyncio.Event) -> None:
    """Subscribed to a channel; a signed trigger (pusher SDK) a second must arrive within 5 s."""
    sdk = pusher.Pusher(
        app_id=APP_ID, key=APP_KEY, secret=APP_SECRET, host=host, port=port, ssl=False, timeout=10
    )
    url = f"ws://{host}:{port}/app/{APP_KEY}?protocol=7"
    try:
        async with websockets.connect(url, max_size=None) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            subscribe = {"event": "pusher:subscribe", "data": {"channel": CONTROL_CHANNEL}}
            await ws.send(orjson.dumps(subscribe).decode())
            await asyncio.wait_for(ws.recv(), 10)
            sequence = 0
            while True:
                sequence += 1
                sent = time.monotonic()
                try:
                    await asyncio.to_thread(sdk.trigger, CONTROL_CHANNEL, "tick", {"n": sequence})
                    while True:
                        frame: Any = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                        if frame.get("event") == "tick":
                            if orjson.loads(frame["data"])["n"] == sequence:
                                break
                    latency = time.monotonic() - sent
                    report.control_events += 1
                    report.control_max_latency_s = max(report.control_max_latency_s, latency)
                except Exception as exc:  # noqa: BLE001 - any failure of the control path counts
                    report.control_failures += 1
                    report.find("control-failed", repr(exc))
                    if isinstance(exc, websockets.ConnectionClosed):
                        return
                if stop.is_set():
                    return
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    pass
    finally:
        sdk._pusher_client.http.session.close()
        sdk._authentication_client.http.session.close()


@asynccontextmanager
async def _rss_sampler(pid: int, report: FuzzReport) -> AsyncIterator[None]:
    async def sample() -> None:
        while True:
            report.peak_rss_bytes = max(report.peak_rss_bytes, rss_bytes(pid))
            await asyncio.sleep(0.2)

    task = asyncio.get_running_loop().create_task(sample())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def fuzz(
    server: ServerProcess,
    *,
    frames: int,
    seed: int,
    http_requests: int = 0,
    concurrency: int = 6,
    frames_per_socket: int = 60,
    max_seconds: float = 600.0,
    wait_s: float = 10.0,
    max_empty_fragments: int = 2_000,
) -> FuzzReport:
    """Send cases until ``frames`` WebSocket frames and ``http_requests`` requests went out
    (or ``max_seconds`` passed); a quarter of the cases are HTTP while both are due."""
    generator = FuzzGenerator(
        random.Random(seed),
        app_id=APP_ID,
        key=APP_KEY,
        secret=APP_SECRET,
        now=time.time,
        max_empty_fragments=max_empty_fragments,
    )
    requests = HttpFuzzer(generator)
    report = FuzzReport(baseline_rss_bytes=rss_bytes(server.pid))
    host, port = "127.0.0.1", server.port
    started = time.monotonic()
    stop = asyncio.Event()

    def is_due() -> bool:
        is_more = report.frames < frames or report.http_requests < http_requests
        return is_more and time.monotonic() - started < max_seconds

    async def worker() -> None:
        while is_due():
            is_ws_due = report.frames < frames
            if is_ws_due and (
                report.http_requests >= http_requests or generator.rng.random() < 0.75
            ):
                report.ws_cases += 1
                case = generator.ws_case(frames_per_socket)
                await _ws_case(host, port, case, report, wait_s)
            else:
                await _http_case(host, port, requests.case(), report, wait_s)

    async with _rss_sampler(server.pid, report):
        control = asyncio.get_running_loop().create_task(_control(host, port, report, stop))
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        stop.set()
        await control
    report.seconds = time.monotonic() - started
    await asyncio.sleep(0.5)  # let the server log what it was doing
    report.log_errors = log_errors(server.log_path)
    return report


def _print(report: FuzzReport, seed: int) -> None:
    mib = 1024 * 1024
    print(
        f"seed {seed}: {report.frames:,} frames in {report.ws_cases:,} sockets, "
        f"{report.http_requests:,} HTTP requests, {report.seconds:.1f} s "
        f"({report.frames / max(report.seconds, 1e-9):,.0f} frames/s)"
    )
    print(
        f"RSS: {report.baseline_rss_bytes / mib:.0f} MiB at start, "
        f"peak {report.peak_rss_bytes / mib:.0f} MiB"
    )
    print(
        f"control client: {report.control_events} events, {report.control_failures} failed, "
        f"max latency {report.control_max_latency_s * 1000:.0f} ms"
    )
    print(f"findings: {sum(report.findings.values())}")
    for kind, count in report.findings.most_common():
        print(f"  {count:6d}  {kind}: {report.examples[kind]}")
    print(f"server log errors: {len(report.log_errors)}")
    for line in report.log_errors[:20]:
        print(f"  {line[:200]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--http-requests", type=int, default=0, help="at least this many")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--frames-per-socket", type=int, default=60)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--max-empty-fragments", type=int, default=2_000)
    parser.add_argument("--wait", type=float, default=5.0, help="seconds an answer may take")
    args = parser.parse_args(argv)
    with server_process() as server:
        report = asyncio.run(
            fuzz(
                server,
                frames=args.frames,
                seed=args.seed,
                http_requests=args.http_requests,
                concurrency=args.concurrency,
                frames_per_socket=args.frames_per_socket,
                max_seconds=args.max_seconds,
                max_empty_fragments=args.max_empty_fragments,
                wait_s=args.wait,
            )
        )
    _print(report, args.seed)
    return 1 if report.findings or report.log_errors else 0


if __name__ == "__main__":
    sys.exit(main())
