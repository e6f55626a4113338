"""Usage counts: exact after a burst, batched off the request path, and kept through a SIGTERM
of a real ``python -m pusherd`` into Redis and the SQL roll-up ``python -m auth usage`` prints
(issue 11 item 7)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import Engine

from dataapi.usage import RedisUsageSink, UsageCounter
from poller.cache import MemoryCache
from poller.clock import FakeClock
from tests.auth_server import create_key
from tests.dataapi.helpers import ApiClock, Harness

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.redis
async def test_a_burst_is_counted_exactly_per_key_endpoint_and_day(
    engine: Engine, fake_clock: FakeClock, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    sink = RedisUsageSink(redis=redis_client, prefix=redis_prefix)
    usage = UsageCounter(sink=sink, clock=ApiClock(fake_clock), flush_every_s=3600)
    api = Harness.build(
        engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock, usage=usage
    )
    key_id = api.keys["free"].removeprefix("pk_").split(".")[0]
    async with usage.running(), api.client(api.keys["free"]) as client:
        missing = await client.get("/sports/curling/leagues")
        answers = await asyncio.gather(*(client.get("/sports") for _ in range(70)))
        assert await sink.read("2026-10-03", key_id) == {}  # nothing flushed on the hot path
    assert missing.status_code == 404
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 59 and statuses.count(429) == 11
    counts = await sink.read("2026-10-03", key_id)
    assert counts == {
        "requests:sports": 70,
        "bytes:sports": sum(len(a.content) for a in answers),
        "requests:leagues": 1,
        "bytes:leagues": len(missing.content),
        "refused": 11,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.redis
async def test_counts_survive_a_sigterm_of_a_real_server(
    tmp_path: Path, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    database_url = f"sqlite:///{tmp_path / 'pusherd.sqlite3'}"
    key = create_key(database_url, tier="pro", name="Ada")
    key_id = key.removeprefix("pk_").split(".")[0]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "PUSHERD_REDIS_PREFIX": redis_prefix,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "pusherd", "--port", str(port), "--no-poller"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}/api/v1", headers={"X-API-Key": key}
        ) as client:
            async with asyncio.timeout(15):
                while True:
                    try:
                        if (await client.get("/sports")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            for _ in range(6):
                assert (await client.get("/sports")).status_code == 200
        server.send_signal(signal.SIGTERM)  # well inside the 5 s flush interval
        output, _ = await asyncio.to_thread(server.communicate, timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.returncode in (0, -signal.SIGTERM), output.decode()[-2000:]
    assert b"Application shutdown complete" in output
    assert key.split(".")[-1].encode() not in output  # the key never reached a log line
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    sink = RedisUsageSink(redis=redis_client, prefix=f"{redis_prefix}api:")
    assert (await sink.read(day, key_id))["requests:sports"] == 7
    # The last roll-up ran on the way out: the SQL record has the same count, and the auth
    # CLI's usage command prints it.
    report = subprocess.run(
        [sys.executable, "-m", "auth", "usage", "--key", key_id, "--days", "1"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = report.stdout.splitlines()
    assert lines[0].split()[:3] == ["day", "key", "requests"], report.stdout
    assert lines[1].split()[:3] == [day, key_id, "7"], report.stdout
