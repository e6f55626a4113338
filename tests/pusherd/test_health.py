"""``/up`` and ``/ready`` with each dependency broken for real (issue 14, item 5).

Redis is a throwaway ``redis-server`` on a free port that the test stops; SQL is PostgreSQL
reached through a loopback relay that the test closes; the poller polls the simulator through
a relay that the test closes.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from auth.sql import create_engine_for_url
from pusherd.app import build_app
from pusherd.clock import IdFactory, SystemClock
from pusherd.config import Secret, Settings
from pusherd.pollerhealth import poller_freshness
from pusherd.readiness import Readiness, sql_check
from tests.poller.tcpproxy import TcpProxy
from tests.servers import RunningServer, make_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def throwaway_redis() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _server(settings: Settings, readiness: Readiness) -> RunningServer:
    def factory(final: Settings) -> Starlette:
        return build_app(
            final,
            clock=SystemClock(),
            ids=IdFactory(random.Random()),
            rng=random.Random(),
            readiness=readiness,
        )

    return RunningServer(settings, app_factory=factory)


def test_up_and_ready_when_all_is_well(pusherd_server: RunningServer) -> None:
    up = httpx.get(f"{pusherd_server.http_url}/up")
    assert up.status_code == 200
    assert up.json()["health"] == "OK"
    ready = httpx.get(f"{pusherd_server.http_url}/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "failed": [], "checks": {"draining": "ok"}}


def test_ready_fails_naming_redis_when_redis_stops(
    throwaway_redis: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, process = throwaway_redis
    settings = make_settings(
        redis_url=Secret(f"redis://127.0.0.1:{port}/0"), laravel_redis_prefix=None
    )
    server = _server(settings, Readiness()).start()
    try:
        before = httpx.get(f"{server.http_url}/ready")
        assert before.status_code == 200, before.text
        assert before.json()["checks"]["redis"] == "ok"
        process.terminate()
        process.wait(timeout=10)
        after = httpx.get(f"{server.http_url}/ready", timeout=5)
        assert after.status_code == 503
        body = after.json()
        assert body["status"] == "not ready"
        assert body["failed"] == ["redis"]
        assert body["checks"]["redis"].startswith("redis unreachable")
        assert str(port) not in after.text  # no URL in the reason
        assert httpx.get(f"{server.http_url}/up").status_code == 200
    finally:
        server.stop()


def test_ready_fails_while_draining() -> None:
    readiness = Readiness()
    server = _server(make_settings(), readiness).start()
    try:
        readiness.is_draining = True
        response = httpx.get(f"{server.http_url}/ready")
        assert response.status_code == 503
        assert response.json()["failed"] == ["draining"]
    finally:
        server.stop()


async def test_sql_check_fails_when_the_database_goes_away() -> None:
    proxy = TcpProxy(5432)
    await proxy.start()
    engine = create_engine_for_url(f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres")

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    readiness = Readiness(timeout_s=3.0)
    readiness.add("sql", sql_check(ping))
    try:
        assert (await readiness.report()).is_ready
        await proxy.stop()
        report = await readiness.report()
        assert not report.is_ready
        assert report.body()["failed"] == ["sql"]
        assert report.checks["sql"].startswith("sql unreachable")
        assert "postgres" not in report.checks["sql"]
    finally:
        await asyncio.to_thread(engine.dispose)


async def test_poller_check_fails_when_its_upstream_stops() -> None:
    from poller.cache import MemoryCache
    from poller.config import load_settings
    from poller.publish import CallbackPublisher
    from poller.service import running_poller
    from poller.simulator.running import simulation

    async with simulation(
        speed=50, start_offset_s=12 * 3600 + 40 * 60, football_spacing_s=900
    ) as sim:
        upstream = urlsplit(sim.base_url)
        assert upstream.port is not None
        proxy = TcpProxy(upstream.port)
        await proxy.start()
        base_url = upstream._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
        settings = load_settings({}, simulator_url=base_url)
        publisher = CallbackPublisher(deliver=lambda *_: None, app_id="1")
        async with running_poller(
            settings,
            publisher=publisher,
            clock=sim.clock,
            cache=MemoryCache(clock=sim.clock),
            tick_s=0.05,
        ) as running:
            check = poller_freshness(
                running.pollers, registry=running.metrics.registry, clock=sim.clock
            )
            deadline = time.monotonic() + 10
            while not any(
                s.match.status.is_in_play for p in running.pollers for s in p.states.values()
            ):
                assert time.monotonic() < deadline, "no match in play"
                assert await check() is None
                await asyncio.sleep(0.05)
            for _ in range(10):  # fresh while the upstream answers
                assert await check() is None
                await asyncio.sleep(0.1)
            await proxy.stop()
            reason = None
            deadline = time.monotonic() + 10
            while reason is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                reason = await check()
            assert reason is not None and reason.startswith("poller data stale")
