"""Real pusherd servers for tests: uvicorn on 127.0.0.1, a random port, in a thread of its own.

A thread with its own (uvloop) event loop lets synchronous clients such as the ``pusher`` SDK and
asynchronous ones share a test without deadlocking each other.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette

from pusherd.app import build_app, server_config
from pusherd.clock import IdFactory, SystemClock
from pusherd.config import AppConfig, Secret, Settings

__all__ = [
    "TEST_APP_ID",
    "TEST_KEY",
    "TEST_SECRET",
    "AppFactory",
    "RunningServer",
    "make_settings",
    "plain_app",
]

TEST_APP_ID = "3"
TEST_KEY = "278d425bdf160c739803"
TEST_SECRET = "7ad3773142a6692b25b8"

_APP_FIELDS = {f.name for f in fields(AppConfig)}
_SETTINGS_FIELDS = {f.name for f in fields(Settings)}


def make_settings(**overrides: Any) -> Settings:
    """Settings with one test app; keyword arguments go to the app or the server by name."""
    app_values = {name: value for name, value in overrides.items() if name in _APP_FIELDS}
    server_values = {name: value for name, value in overrides.items() if name in _SETTINGS_FIELDS}
    unknown = set(overrides) - set(app_values) - set(server_values)
    if unknown:
        raise TypeError(f"unknown setting(s): {sorted(unknown)}")
    app_values.setdefault("app_id", TEST_APP_ID)
    app_values.setdefault("key", TEST_KEY)
    app_values.setdefault("secret", Secret(TEST_SECRET))
    apps = server_values.pop("apps", None) or (AppConfig(**app_values),)
    base = Settings(host="127.0.0.1", port=0, apps=apps, run_poller=False, log_level="warning")
    return replace(base, **server_values)


#: Builds the ASGI app for a server (default: :func:`pusherd.app.build_app` with nothing extra).
AppFactory = Callable[[Settings], Starlette]


def plain_app(settings: Settings) -> Starlette:
    return build_app(
        settings, clock=SystemClock(), ids=IdFactory(random.Random()), rng=random.Random()
    )


@dataclass
class RunningServer:
    settings: Settings
    app_factory: AppFactory = plain_app
    host: str = "127.0.0.1"
    port: int = 0
    _server: uvicorn.Server | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def app(self) -> AppConfig:
        return self.settings.apps[0]

    @property
    def app_id(self) -> str:
        return self.app.app_id

    @property
    def key(self) -> str:
        return self.app.key

    @property
    def secret(self) -> str:
        return self.app.secret.reveal()

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ws_url(self, key: str | None = None, query: str = "protocol=7") -> str:
        return f"ws://{self.host}:{self.port}/app/{key or self.key}?{query}"

    def start(self) -> RunningServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        settings = replace(self.settings, port=self.port)
        app = self.app_factory(settings)
        server = uvicorn.Server(server_config(settings, app))
        self._server = server

        def run() -> None:
            loop = uvloop.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.serve(sockets=[sock]))
            finally:
                loop.close()
                sock.close()

        self._thread = threading.Thread(target=run, name=f"pusherd-{self.port}", daemon=True)
        self._thread.start()
        for _ in range(1000):
            if server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError("pusherd did not start within 10 s")
        return self

    def stop(self) -> None:
        """Graceful shutdown, as on SIGTERM: sockets get 4200, then the lifespan ends."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            if self._thread.is_alive():
                raise RuntimeError("pusherd did not stop within 15 s")
            self._server = None
            self._thread = None
