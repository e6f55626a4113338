"""A small health-checking TCP load balancer on loopback, as HAProxy would be configured in
front of pusherd: round robin over the upstreams whose ``GET /ready`` last answered 200
(checked every ``interval_s``), new connections only — open ones stay where they are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import httpx


class Balancer:
    def __init__(self, upstreams: Sequence[tuple[str, int]], interval_s: float = 0.2) -> None:
        self.upstreams = list(upstreams)
        self.interval_s = interval_s
        self.healthy: set[tuple[str, int]] = set(self.upstreams)
        self.port = 0
        #: Connections relayed to each upstream.
        self.relayed: Counter[tuple[str, int]] = Counter()
        self._next = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, upstreams: Sequence[tuple[str, int]], interval_s: float = 0.2
    ) -> AsyncIterator[Balancer]:
        balancer = cls(upstreams, interval_s)
        balancer._server = await asyncio.start_server(balancer._handle, "127.0.0.1", 0)
        balancer.port = balancer._server.sockets[0].getsockname()[1]
        checker = asyncio.create_task(balancer._check_forever())
        try:
            yield balancer
        finally:
            checker.cancel()
            balancer._server.close()
            for writer in list(balancer._writers):
                writer.transport.abort()
            for task in list(balancer._tasks):
                task.cancel()
            await asyncio.gather(checker, *balancer._tasks, return_exceptions=True)

    async def _check_forever(self) -> None:
        async with httpx.AsyncClient(timeout=1.0) as client:
            while True:
                for host, port in self.upstreams:
                    try:
                        response = await client.get(f"http://{host}:{port}/ready")
                        is_up = response.status_code == 200
                    except httpx.HTTPError:
                        is_up = False
                    if is_up:
                        self.healthy.add((host, port))
                    else:
                        self.healthy.discard((host, port))
                await asyncio.sleep(self.interval_s)

    def _pick(self) -> tuple[str, int] | None:
        for _ in range(len(self.upstreams)):
            upstream = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            if upstream in self.healthy:
                return upstream
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            # Like HAProxy's ``option redispatch``: a refused connection is retried on the
            # next healthy upstream before the client sees anything.
            for _ in range(len(self.upstreams)):
                upstream = self._pick()
                if upstream is None:
                    break
                try:
                    up_reader, up_writer = await asyncio.open_connection(*upstream)
                except OSError:
                    self.healthy.discard(upstream)
                    continue
                break
            else:
                upstream = None
            if upstream is None:
                writer.transport.abort()
                return
            self.relayed[upstream] += 1
            self._writers.update((writer, up_writer))
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
            self._writers.difference_update((writer, up_writer))
        finally:
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
