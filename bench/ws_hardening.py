"""Issue 10, WebSocket items: the attacks of items 1 and 12 against a live server, measured.

    .venv/bin/python -m bench.ws_hardening                      # this checkout
    .venv/bin/python -m bench.ws_hardening --source /work/main  # another checkout ("before")

Starts ``python -m pusherd --no-poller`` from ``--source`` on a free 127.0.0.1 port and:

1. **Fragment flood (item 1).** One client sends one message as a text frame, N empty non-final
   continuations and a final continuation (N = 20,000 and 40,000: 120 and 240 KB); the time
   from the write to the server's answer (the ``pusher:pong`` the message asks for, or a close)
   is printed. Meanwhile a control client sends ``pusher:ping`` every 10 ms and its round trips
   are reported. The same streams are then fed to that checkout's ``FrameReader`` alone.
2. **Edge cases (item 12).** Each probe on a fresh connection: what the server answers.

At the end, the server log's ERROR lines and tracebacks are counted. Loopback only, bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

KEY = "wshardeningbenchkey"
ZERO_MASK = b"\0\0\0\0"
PING = b'{"event":"pusher:ping","data":{}}'


def client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A client frame masked with the all-zero key (RFC 6455 allows it; payload unchanged)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        head = bytes((first, 0x80 | length))
    else:
        head = bytes((first, 0x80 | 126)) + length.to_bytes(2, "big")
    return head + ZERO_MASK + payload


def flood(count: int) -> bytes:
    """One ``pusher:ping`` message cut into a first frame, ``count`` empty pieces and a last."""
    return (
        client_frame(0x1, b'{"event":"pusher:ping",', fin=False)
        + client_frame(0x0, b"", fin=False) * count
        + client_frame(0x0, b'"data":{}}')
    )


async def recv_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return head[0] & 0x0F, await reader.readexactly(length)


def describe(opcode: int, payload: bytes) -> str:
    if opcode == 0x8:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
        return f"close {code} {payload[2:].decode(errors='replace')!r}"
    return payload.decode(errors="replace")[:90]


async def upgrade(
    port: int, query: str = "protocol=7"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """Connect and upgrade; returns the streams and the first frame (or the HTTP status)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    nonce = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /app/{KEY}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    if not head.startswith(b"HTTP/1.1 101"):
        return reader, writer, head.split(b"\r\n", 1)[0].decode()
    try:
        first = describe(*await asyncio.wait_for(recv_frame(reader), 5))
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as exc:
        first = f"101, then the socket dropped ({type(exc).__name__})"
    return reader, writer, first


async def control_pings(port: int, stop: asyncio.Event, round_trips: list[float]) -> None:
    reader, writer, _ = await upgrade(port)
    while not stop.is_set():
        started = time.perf_counter()
        writer.write(client_frame(0x1, PING))
        await recv_frame(reader)
        round_trips.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    writer.close()


async def fragment_flood(port: int, count: int) -> None:
    stop, round_trips = asyncio.Event(), list[float]()
    control = asyncio.create_task(control_pings(port, stop, round_trips))
    await asyncio.sleep(0.3)
    baseline = len(round_trips)
    reader, writer, _ = await upgrade(port)
    data = flood(count)
    started = time.perf_counter()
    writer.write(data)
    answer = describe(*await asyncio.wait_for(recv_frame(reader), 120))
    elapsed = time.perf_counter() - started
    writer.close()
    await asyncio.sleep(0.2)
    stop.set()
    await control
    during = sorted(round_trips[baseline:])
    print(f"  N={count:,} ({len(data):,} B): answered after {elapsed:.3f} s with {answer}")
    print(
        f"    control pusher:ping round trips meanwhile: {len(during)}, median "
        f"{during[len(during) // 2] * 1e3:.1f} ms, max {during[-1] * 1e3:.1f} ms"
    )


PROBES: list[tuple[str, str, list[bytes]]] = [
    ("protocol=<5,000 digits>", "protocol=" + "9" * 5000, []),
    ("close 1006", "protocol=7", [client_frame(0x8, (1006).to_bytes(2, "big"))]),
    ("close 1015", "protocol=7", [client_frame(0x8, (1015).to_bytes(2, "big"))]),
    ("close 5000", "protocol=7", [client_frame(0x8, (5000).to_bytes(2, "big"))]),
    ("close, 1-byte payload", "protocol=7", [client_frame(0x8, b"\x03")]),
    ("close, reason not UTF-8", "protocol=7", [client_frame(0x8, b"\x03\xe8\xff")]),
    ("text not UTF-8", "protocol=7", [client_frame(0x1, b'{"event":"pusher:ping","x":"\xff"}')]),
    ("binary frame", "protocol=7", [client_frame(0x2, PING)]),
]


async def edge_cases(port: int) -> None:
    for label, query, frames in PROBES:
        reader, writer, first = await upgrade(port, query)
        answer = first
        if frames and first.startswith('{"event":"pusher:connection_established"'):
            writer.write(b"".join(frames))
            try:
                answer = describe(*await asyncio.wait_for(recv_frame(reader), 5))
            except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as exc:
                answer = f"socket dropped ({type(exc).__name__})"
        writer.close()
        print(f"  {label:26s} -> {answer}")


def reader_alone(source: Path) -> None:
    """The same floods fed to the checkout's FrameReader in 64 KiB reads, without a server."""
    code = (
        "import sys, time\n"
        "from pusherd.protocol.wsframes import FrameReader, WebSocketProtocolError\n"
        "data = sys.stdin.buffer.read()\n"
        "reader = FrameReader(256 * 1024)\n"
        "start = time.perf_counter(); result = 'message'\n"
        "try:\n"
        "    for i in range(0, len(data), 65536): reader.feed(data[i:i + 65536])\n"
        "except WebSocketProtocolError as exc: result = f'close {exc.close_code}'\n"
        "print(f'{time.perf_counter() - start:.3f} s ({result})')\n"
    )
    for count in (20_000, 40_000):
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=flood(count),
            cwd=source,
            capture_output=True,
            timeout=600,
            check=True,
        )
        print(f"  N={count:,}: {done.stdout.decode().strip()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path.cwd(), help="checkout to run")
    args = parser.parse_args()
    source: Path = args.source.resolve()
    port = free_port()
    env = dict(os.environ, PUSHERD_APP_ID="1", PUSHERD_APP_KEY=KEY, PUSHERD_APP_SECRET="bench")
    command = [sys.executable, "-m", "pusherd", "--no-poller", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=source,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        print(f"pusherd from {source} on 127.0.0.1:{port}")
        print("item 1, live server:")
        for count in (20_000, 40_000):
            asyncio.run(fragment_flood(port, count))
        print("item 1, FrameReader alone:")
        reader_alone(source)
        print("item 12, edge cases:")
        asyncio.run(edge_cases(port))
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0].decode(errors="replace").splitlines()
    errors = [line for line in log if " ERROR " in line or "Fatal error" in line]
    tracebacks = sum("Traceback" in line for line in log)
    print(f"server log: {len(errors)} ERROR line(s), {tracebacks} traceback(s)")
    for line in errors[:3]:
        print("  ", line[:160])
    return 0


if __name__ == "__main__":
    sys.exit(main())
