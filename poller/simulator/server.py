"""Serve an ASGI app with uvicorn on 127.0.0.1, port 0, inside the running event loop.

Used by tests (the simulator as a real local HTTP server) and by ``python -m poller --simulate``.
The context manager owns the server: it stops it and waits for it, bounded, on exit. It never
installs signal handlers, so it can run inside pusherd's own uvicorn process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp

__all__ = ["serve"]


class _EmbeddedServer(uvicorn.Server):
    """A server that leaves signal handling to its host process (pusherd, pytest, the CLI)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Yields the base URL (``http://127.0.0.1:<port>``) once the server accepts connections."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before starting")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=5)
