"""A live ``python -m pusherd --no-poller`` for black-box runs: start, watch, read its log.

The server runs as its own process on a free 127.0.0.1 port, in a scratch directory (its auth
database goes there), with a fixed app whose credentials the fuzzer signs with.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "APP_ID",
    "APP_KEY",
    "APP_SECRET",
    "ServerProcess",
    "log_errors",
    "rss_bytes",
    "server_process",
]

APP_ID, APP_KEY, APP_SECRET = "4242", "fuzz-key", "fuzz-secret-0d9c"
_ERROR_LINE = re.compile(r"(^|\s)(ERROR|CRITICAL)(:|\s)|Traceback|Fatal error")


@dataclass(frozen=True)
class ServerProcess:
    pid: int
    port: int
    log_path: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(python: str = sys.executable) -> Iterator[ServerProcess]:
    """``python -m pusherd --no-poller`` on a free loopback port, in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="pusherd-fuzz-") as scratch:
        port = _free_port()
        log_path = Path(scratch) / "server.log"
        env = {
            **os.environ,
            "PUSHERD_APP_ID": APP_ID,
            "PUSHERD_APP_KEY": APP_KEY,
            "PUSHERD_APP_SECRET": APP_SECRET,
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [python, "-m", "pusherd", "--no-poller", "--port", str(port)],
                cwd=scratch,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            for _ in range(300):
                if process.poll() is not None:
                    raise RuntimeError(f"pusherd exited: {log_path.read_text()[-2000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("pusherd did not listen within 30 s")
            yield ServerProcess(process.pid, port, log_path)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def log_errors(log_path: Path) -> list[str]:
    """Lines of the server's log at ERROR (or a traceback, or asyncio's "Fatal error")."""
    text = log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if _ERROR_LINE.search(line)]
