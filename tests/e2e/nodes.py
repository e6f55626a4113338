"""Real ``python -m pusherd`` processes for the running-in-production tests (hand-over, workers,
TLS, logs): started with an environment of the test's choosing, on a free loopback port, and
stopped with a signal the test sends — the way an orchestrator runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "7"
APP_KEY = "handover-key"
APP_SECRET = "handover-secret-0123456789"
REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class NodeProcess:
    """One pusherd process; ``host``/``port``/``app_id``/``key``/``secret`` as the driver wants."""

    process: asyncio.subprocess.Process
    port: int
    output: Path
    host: str = "127.0.0.1"
    app_id: str = APP_ID
    key: str = APP_KEY
    secret: str = APP_SECRET
    scheme: str = "http"
    exit_code: int | None = field(default=None)

    @property
    def http_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def ws_url(self, key: str | None = None, query: str = "protocol=7") -> str:
        ws = "wss" if self.scheme == "https" else "ws"
        return f"{ws}://{self.host}:{self.port}/app/{key or self.key}?{query}"

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def wait(self, timeout_s: float) -> int:
        self.exit_code = await asyncio.wait_for(self.process.wait(), timeout_s)
        return self.exit_code

    def log_text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")


def node_environment(tmp: Path, prefix: str, extra: Mapping[str, str] = {}) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PUSHERD_", "REVERB_", "PUSHER_", "REDIS_", "DATABASE_"))
    }
    env.update(
        PUSHERD_APP_ID=APP_ID,
        PUSHERD_APP_KEY=APP_KEY,
        PUSHERD_APP_SECRET=APP_SECRET,
        PUSHERD_ADAPTER="redis",
        PUSHERD_REDIS_URL=REDIS_URL,
        PUSHERD_REDIS_PREFIX=prefix,
        PUSHERD_LARAVEL_REDIS_PREFIX="off",
        DATABASE_URL=f"sqlite:///{tmp / 'auth.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def start_node(
    tmp: Path,
    env: Mapping[str, str],
    args: Sequence[str] = (),
    *,
    name: str = "node",
    port: int | None = None,
    scheme: str = "http",
    ready_timeout_s: float = 30.0,
    poller: bool = False,
) -> NodeProcess:
    chosen = port or free_port()
    output = tmp / f"{name}-{chosen}.log"
    with output.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pusherd",
            "--port",
            str(chosen),
            *(() if poller else ("--no-poller",)),
            *args,
            cwd=str(ROOT),
            env=dict(env),
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )
    node = NodeProcess(process, chosen, output, scheme=scheme)
    async with httpx.AsyncClient(verify=False) as client:
        deadline = asyncio.get_running_loop().time() + ready_timeout_s
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited at start:\n{node.log_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{node.http_url}/ready", timeout=1)).status_code == 200:
                    return node
            if asyncio.get_running_loop().time() > deadline:
                process.kill()
                raise RuntimeError(f"{name} not ready:\n{node.log_text()[-3000:]}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix on the shared Redis, deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = aioredis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def stop_all(nodes: Sequence[NodeProcess]) -> None:
    for node in nodes:
        if node.process.returncode is None:
            node.signal(signal.SIGKILL)
            await node.process.wait()
