"""Shared fixtures: real pusherd servers on loopback (see :mod:`tests.servers`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.servers import RunningServer, make_settings

StartPusherd = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
def pusherd_server() -> Iterator[RunningServer]:
    """A pusherd with one test app (id 3, the reference's example key and secret)."""
    server = RunningServer(make_settings()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def start_pusherd() -> AsyncIterator[StartPusherd]:
    """``await start_pusherd(**overrides)``: a server whose app or settings are changed by name,
    e.g. ``client_events_enabled=False``, ``max_connections=2``, ``activity_timeout_s=2``."""
    started: list[RunningServer] = []

    async def start(**overrides: Any) -> RunningServer:
        # Off the event loop: the server may need this loop meanwhile (a test's proxy, say).
        server = await asyncio.to_thread(RunningServer(make_settings(**overrides)).start)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            await asyncio.to_thread(server.stop)
