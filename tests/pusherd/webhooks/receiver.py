"""A real webhook receiver for tests: Starlette served by uvicorn on 127.0.0.1, port 0.

It records every request (arrival time, lower-case headers, raw body) and answers with the
next status of a script (then the default status), after the next scripted delay if any. Waits
are bounded by ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["Received", "Receiver", "closed_port", "node_validate", "run_receiver"]

#: The Node ``pusher`` SDK the e2e suite installs (``npm ci --prefix tests/e2e/node``).
NODE_PUSHER = Path(__file__).resolve().parents[2] / "e2e" / "node" / "node_modules" / "pusher"
_NODE_SCRIPT = """
const Pusher = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const { appId, key, secret, headers, rawBody } = JSON.parse(input);
  const webhook = new Pusher({ appId, key, secret }).webhook({ headers, rawBody });
  const valid = webhook.isValid();
  process.stdout.write(JSON.stringify({ valid, events: valid ? webhook.getEvents() : null }));
});
"""

#: Upper bound, in seconds, of any wait for the receiver (a failed test, not a slow one).
WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.json["events"]
        return events


@dataclass
class Receiver:
    url: str = ""
    statuses: deque[int] = field(default_factory=deque)
    delays_s: deque[float] = field(default_factory=deque)
    default_status: int = 200
    requests: list[Received] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(Received(time.monotonic(), request.url.path, headers, body))
        status = self.statuses.popleft() if self.statuses else self.default_status
        async with self._changed:
            self._changed.notify_all()
        if self.delays_s:
            await asyncio.sleep(self.delays_s.popleft())  # a slow receiver, on purpose
        return Response(status_code=status)

    async def wait_for_requests(self, count: int, timeout_s: float = WAIT_S) -> list[Received]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.requests) >= count), timeout_s
            )
        return self.requests

    async def wait_for_events(self, count: int, timeout_s: float = WAIT_S) -> list[dict[str, Any]]:
        """Every event received, once at least ``count`` have arrived (over all requests)."""

        def events() -> list[dict[str, Any]]:
            return [event for received in self.requests for event in received.events]

        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(events()) >= count), timeout_s
            )
        return events()


class _Server(uvicorn.Server):
    """Leaves pytest's signal handlers alone."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def run_receiver(default_status: int = 200) -> AsyncIterator[Receiver]:
    """Serve a :class:`Receiver` in this event loop for the duration of the block."""
    receiver = Receiver(default_status=default_status)
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", ws="none", log_level="warning", timeout_graceful_shutdown=1
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT_S):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        receiver.url = f"http://127.0.0.1:{port}/webhook"
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()


async def node_validate(
    *, app_id: str, key: str, secret: str, headers: dict[str, str], body: bytes
) -> Any:
    """``new Pusher(...).webhook({headers, rawBody}).isValid()`` of the real Node SDK."""
    node = shutil.which("node")
    if node is None or not (NODE_PUSHER / "package.json").is_file():
        raise RuntimeError(
            f"the Node pusher SDK is missing ({NODE_PUSHER}); install it with "
            "`npm ci --prefix tests/e2e/node --no-audit --no-fund` (needs Node 20)"
        )
    process = await asyncio.create_subprocess_exec(
        node,
        "-e",
        _NODE_SCRIPT,
        str(NODE_PUSHER),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    request = {"appId": app_id, "key": key, "secret": secret, "headers": headers}
    request["rawBody"] = body.decode()
    try:
        async with asyncio.timeout(WAIT_S * 3):
            stdout, stderr = await process.communicate(orjson.dumps(request))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"node failed ({process.returncode}): {stderr.decode()}")
    return orjson.loads(stdout)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
