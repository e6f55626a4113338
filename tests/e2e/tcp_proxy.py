"""A loopback TCP relay placed between pusher-js and the server under test.

It lets a test cut every connection at the network level (what a client sees when the server
or a load balancer drops it: no close frame, code 1006) and point new connections at another
server, without asking anything of the server itself. Bound to 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class TcpProxy:
    """Relay ``127.0.0.1:port`` → ``upstream_host:upstream_port``; use :meth:`start`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, upstream_host: str, upstream_port: int) -> AsyncIterator[TcpProxy]:
        proxy = cls(upstream_host, upstream_port)
        proxy._server = await asyncio.start_server(proxy._handle, "127.0.0.1", 0)
        proxy.port = proxy._server.sockets[0].getsockname()[1]
        try:
            yield proxy
        finally:
            await proxy.aclose()

    def retarget(self, upstream_host: str, upstream_port: int) -> None:
        """Send connections accepted from now on to another server."""
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port

    def drop_all(self) -> int:
        """Abort every relayed connection (both sides, no close handshake); return how many."""
        writers = list(self._writers)
        for writer in writers:
            writer.transport.abort()
        return len(writers) // 2

    async def _handle(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            client.transport.abort()
            return
        self._writers.update((client, upstream))
        pipes = [
            asyncio.create_task(self._pipe(client_reader, upstream)),
            asyncio.create_task(self._pipe(upstream_reader, client)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._tasks.difference_update(pipes)
            for writer in (client, upstream):
                self._writers.discard(writer)
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            writer.transport.abort()
            return
        # A clean end of stream (e.g. after a WebSocket close frame) is passed on as such.
        if not writer.transport.is_closing() and writer.can_write_eof():
            writer.write_eof()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
