"""What every WebSocket of this process shares: apps, the adapter, the live connections.

It also owns the one keepalive sweep (a single timer for all sockets rather than a task per
socket, house style §4) and the cleanup tasks of closed sockets, so shutdown can wait for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from pusherd.adapters.base import Adapter
from pusherd.clock import Clock, IdFactory
from pusherd.config import AppConfig, Settings
from pusherd.hooks import KeyQuota, WebhookSink
from pusherd.state.consequences import Transition
from pusherd.transport.actions import ChannelActions
from pusherd.transport.deflate import DeflateParams, SharedDeflater, negotiate
from pusherd.transport.handshake import HttpDate

__all__ = ["LiveConnection", "WebSocketEndpoint"]

logger = logging.getLogger("pusherd.transport.endpoint")


class LiveConnection(Protocol):
    @property
    def socket_id(self) -> str: ...

    def check_liveness(self, now: float) -> None: ...


class WebSocketEndpoint:
    def __init__(
        self,
        *,
        settings: Settings,
        apps: Sequence[AppConfig],
        adapter: Adapter,
        clock: Clock,
        ids: IdFactory,
        webhooks: WebhookSink | None = None,
        key_quota: KeyQuota | None = None,
        presence_leave_wait: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.apps_by_key = {app.key: app for app in apps}
        #: One shared Limits per app, so a connection holds a reference, not a copy.
        self.limits_by_app = {app.app_id: app.limits for app in apps}
        self.adapter = adapter
        self.actions = ChannelActions(
            adapter=adapter,
            clock=clock,
            webhooks=webhooks,
            key_quota=key_quota,
            presence_leave_wait=presence_leave_wait,
        )
        apps_by_id = {app.app_id: app for app in apps}

        def carry_out(change: Transition) -> None:
            # What a dead node or a repair changed: the same consequences as a socket's own.
            app = apps_by_id.get(change.app_id)
            if app is not None:
                self.actions.carry_out(app, change)

        adapter.watch_membership(carry_out)
        self.clock = clock
        self.ids = ids
        self.connections: dict[str, LiveConnection] = {}
        self.connections_per_app: Counter[str] = Counter()
        #: Sockets closed for falling too far behind (read by the metrics collector).
        self.slow_consumers_dropped = 0
        self._background: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._http_date = HttpDate()
        #: Compresses each event once for every socket that negotiated permessage-deflate.
        self.deflater = SharedDeflater()
        # One DeflateParams per outcome (a handful), shared by the sockets: not one per socket.
        self._deflate_params: dict[DeflateParams, DeflateParams] = {}

    async def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        self.actions.cancel_timers()
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        if self._background:
            await asyncio.wait(set(self._background), timeout=self.settings.shutdown_grace_s)

    def http_date(self) -> bytes:
        """The ``Date`` header of an upgrade response (wall clock, formatted once a second)."""
        return self._http_date.at(self.clock.time())

    def negotiate_deflate(self, app: AppConfig, offers: str | None) -> DeflateParams | None:
        """permessage-deflate for this socket, if the app allows it and the client offered it."""
        if not app.compression_enabled:
            return None
        params = negotiate(offers, app.compression_min_bytes)
        if params is None:
            return None
        return self._deflate_params.setdefault(params, params)

    def new_socket_id(self) -> str:
        """A socket id no live connection of this node holds (§1.3, checklist 3)."""
        while True:
            socket_id = self.ids.socket_id()
            if socket_id not in self.connections:
                return socket_id

    def register(self, connection: LiveConnection, app_id: str) -> None:
        self.connections[connection.socket_id] = connection
        self.connections_per_app[app_id] += 1

    def unregister(self, connection: LiveConnection, app_id: str) -> None:
        if self.connections.pop(connection.socket_id, None) is not None:
            self.connections_per_app[app_id] -= 1
            if self.connections_per_app[app_id] <= 0:
                del self.connections_per_app[app_id]

    def run_in_background(self, task: asyncio.Task[None]) -> None:
        """Keep a reference to a cleanup task until it ends, and log it if it crashed."""
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    def sweep(self) -> None:
        now = self.clock.monotonic()
        for connection in tuple(self.connections.values()):
            connection.check_liveness(now)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.keepalive_sweep_s)
            try:
                self.sweep()
            except Exception:
                logger.exception("keepalive sweep failed")
