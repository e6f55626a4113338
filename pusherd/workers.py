"""``pusherd --workers N``: every core behind one port (issue 14, item 2).

Each worker is a whole pusherd process that binds the same address with ``SO_REUSEPORT``; the
kernel spreads new connections across the workers' listening sockets. We chose that over a
parent that accepts and hands each socket to a child because:

* there is no extra hop and no file-descriptor passing per connection, and the parent is not a
  single accept loop every client waits behind;
* a worker is the ordinary single-process server (same code path, same tests), and a worker
  that dies loses only its own sockets — the others keep accepting;
* the cost: Linux (and the BSDs) only, and the kernel balances connections by hash, not by
  load — fine for many similar WebSockets.

Workers share channels, presence and caches through the Redis adapter, so ``N > 1`` requires
it (:mod:`pusherd.runtime_settings` says so at start). This parent only supervises: it restarts
a worker that dies (with a backoff if it keeps dying) and withdraws the dead worker's presence
members at once, by marking its Redis node as silent since the epoch — the next heartbeat of any
live worker then cleans it, sending one ``member_removed`` per user it held. SIGTERM and SIGHUP
are passed on to every worker (each hands its clients over, or reloads its certificate).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from pusherd.config import Settings

__all__ = ["NODE_ENV", "PORT_ENV", "WORKER_ENV", "listening_socket", "supervise"]

logger = logging.getLogger("pusherd.workers")

#: Set in a worker's environment: its index (also what tells a process it is a worker).
WORKER_ENV = "PUSHERD_WORKER_INDEX"
#: The worker's Redis node id, known to the parent so that it can withdraw a dead worker.
NODE_ENV = "PUSHERD_NODE_ID"
#: The port the parent resolved (``--port 0`` picks one port for all workers).
PORT_ENV = "PUSHERD_WORKER_PORT"

_POLL_S = 0.2


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket; with ``reuse_port`` others may bind the same address too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


@dataclass
class _Worker:
    index: int
    generation: int
    node_id: str
    process: subprocess.Popen[bytes]
    started_at: float
    #: Consecutive quick deaths, for the restart backoff.
    quick_deaths: int = 0


class _Supervisor:
    def __init__(self, settings: Settings, arguments: Sequence[str], environ: Mapping[str, str]):
        self.settings = settings
        self.arguments = list(arguments)
        self.environ = dict(environ)
        self.workers: dict[int, _Worker] = {}
        self.is_stopping = False
        self.prefix = os.urandom(4).hex()
        # Bound (not listening) for the parent's lifetime: resolves port 0 to one port for all
        # workers, and keeps it ours while a worker restarts.
        self.reservation = socket.socket(
            socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM
        )
        self.reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.reservation.bind((settings.host, settings.port))
        self.port: int = self.reservation.getsockname()[1]

    def spawn(self, index: int, generation: int, quick_deaths: int = 0) -> None:
        node_id = f"{self.prefix}-w{index}-g{generation}"
        env = {
            **self.environ,
            WORKER_ENV: str(index),
            NODE_ENV: node_id,
            PORT_ENV: str(self.port),
        }
        process = subprocess.Popen([sys.executable, "-m", "pusherd", *self.arguments], env=env)
        self.workers[index] = _Worker(
            index, generation, node_id, process, time.monotonic(), quick_deaths
        )
        logger.info("worker %d started (pid %d)", index, process.pid)

    def signal_all(self, signum: int) -> None:
        for worker in self.workers.values():
            if worker.process.poll() is None:
                worker.process.send_signal(signum)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.signal_all(signal.SIGHUP)
            return
        self.is_stopping = True
        self.signal_all(signal.SIGTERM)

    def withdraw(self, worker: _Worker) -> None:
        """Mark the dead worker's node silent, so that live workers clean it at once."""
        if self.settings.redis_url is None:
            return
        import redis

        client = redis.Redis.from_url(
            self.settings.redis_url.reveal(), socket_timeout=2.0, socket_connect_timeout=2.0
        )
        try:
            client.zadd(f"{self.settings.redis_prefix}nodes", {worker.node_id: 0}, xx=True)
        except redis.RedisError as exc:
            logger.warning("could not withdraw worker %d: %s", worker.index, type(exc).__name__)
        finally:
            client.close()

    def run(self) -> int:
        for index in range(self.settings.workers):
            self.spawn(index, 0)
        restart_at: dict[int, float] = {}
        while not self.is_stopping:
            time.sleep(_POLL_S)
            now = time.monotonic()
            for index, worker in list(self.workers.items()):
                code = worker.process.poll()
                if code is None or index in restart_at or self.is_stopping:
                    continue
                logger.error("worker %d (pid %d) exited with %d", index, worker.process.pid, code)
                self.withdraw(worker)
                is_quick = now - worker.started_at < 10.0
                worker.quick_deaths = worker.quick_deaths + 1 if is_quick else 0
                restart_at[index] = now + min(30.0, 0.5 * 2 ** max(0, worker.quick_deaths - 1))
            for index, at in list(restart_at.items()):
                if now >= at and not self.is_stopping:
                    del restart_at[index]
                    old = self.workers[index]
                    self.spawn(index, old.generation + 1, old.quick_deaths)
        return self.stop()

    def stop(self) -> int:
        bound = self.settings.handover_window_s + self.settings.shutdown_grace_s + 10.0
        deadline = time.monotonic() + bound
        for worker in self.workers.values():
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("worker %d did not stop within %.0fs; killed", worker.index, bound)
                worker.process.kill()
                worker.process.wait()
        self.reservation.close()
        return 0


def supervise(settings: Settings, arguments: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run ``settings.workers`` workers until SIGTERM/SIGINT; returns the exit status."""
    supervisor = _Supervisor(settings, arguments, environ)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, supervisor.on_signal)
    logger.info(
        "supervising %d workers on %s:%d (SO_REUSEPORT)",
        settings.workers,
        settings.host,
        supervisor.port,
    )
    return supervisor.run()
