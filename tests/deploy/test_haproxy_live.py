"""deploy/haproxy/haproxy.cfg in front of real pusherd nodes: a real HAProxy on loopback, run
from the shipped file with only the addresses changed (compose's service names become loopback
ports; Docker's DNS resolver is dropped). WebSockets upgrade through it, signed triggers reach
sockets on every node (Redis adapter), the health check marks a dead node down, and /metrics is
refused at the door."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pusher
import pytest
import redis.asyncio as aioredis
import websockets

from pusherd.config import Secret
from tests.conftest import StartPusherd
from tests.deploy.conftest import DEPLOY, require_tool
from tests.servers import RunningServer

REDIS_URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_config(text: str, lb_port: int, stats_port: int, node_ports: list[int]) -> str:
    """The shipped config with compose's addresses swapped for loopback ports, nothing else."""
    text = re.sub(r"(?m)^resolvers docker\n(?:[ \t]+.*\n)+", "", text)
    text = text.replace(" resolvers docker", "")
    text = text.replace("bind :8080", f"bind 127.0.0.1:{lb_port}")
    text = text.replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{stats_port}")
    for number, port in enumerate(node_ports, start=1):
        text = text.replace(f"pusherd{number}:8080", f"127.0.0.1:{port}")
    assert "resolvers" not in text and ":8080" not in text and "backend pusherd_nodes" in text
    return text


@pytest.fixture
async def nodes(start_pusherd: StartPusherd) -> AsyncIterator[list[RunningServer]]:
    prefix = f"test:{uuid.uuid4().hex}:"
    started = [
        await start_pusherd(
            adapter="redis",
            redis_url=Secret(REDIS_URL),
            redis_prefix=prefix,
            laravel_redis_prefix=None,
        )
        for _ in range(2)
    ]
    yield started
    client = aioredis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def haproxy(nodes: list[RunningServer], tmp_path: Path) -> Iterator[tuple[int, int]]:
    binary = require_tool("haproxy")
    lb_port, stats_port = _free_port(), _free_port()
    # The third node of the compose file is a port nobody listens on: it must be marked down.
    ports = [nodes[0].port, nodes[1].port, _free_port()]
    config = tmp_path / "haproxy.cfg"
    text = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    config.write_text(loopback_config(text, lb_port, stats_port, ports))
    # -n: the file's maxconn (50000) needs more descriptors than a test machine may grant.
    with (
        open(tmp_path / "haproxy.log", "w") as log,
        subprocess.Popen(
            [binary, "-db", "-n", "1000", "-f", str(config)], stdout=log, stderr=log
        ) as process,
    ):
        try:
            yield lb_port, stats_port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _states(stats_port: int) -> dict[str, str]:
    response = httpx.get(f"http://127.0.0.1:{stats_port}/stats;csv", timeout=2)
    rows = csv.DictReader(io.StringIO(response.text.lstrip("# ")))
    return {row["svname"]: row["status"] for row in rows if row["pxname"] == "pusherd_nodes"}


async def _wait_states(stats_port: int, expected: dict[str, str]) -> None:
    deadline = time.monotonic() + 20
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            states = await asyncio.to_thread(_states, stats_port)
        except httpx.TransportError:
            states = {}
        # "UP", "DOWN", or a transition such as "UP 1/3"; the first word is the state.
        if {name: (states.get(name) or "?").split()[0] for name in expected} == expected:
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"HAProxy's view {states} never became {expected}")


async def _subscribed(lb_port: int, key: str) -> websockets.ClientConnection:
    ws = await websockets.connect(f"ws://127.0.0.1:{lb_port}/app/{key}?protocol=7")
    established = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert established["event"] == "pusher:connection_established"
    await ws.send(orjson.dumps({"event": "pusher:subscribe", "data": {"channel": "lb"}}).decode())
    succeeded = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert succeeded["event"] == "pusher_internal:subscription_succeeded"
    return ws


async def test_websockets_and_triggers_through_haproxy_reach_every_node(
    nodes: list[RunningServer], haproxy: tuple[int, int]
) -> None:
    lb_port, stats_port = haproxy
    await _wait_states(stats_port, {"pusherd1": "UP", "pusherd2": "UP", "pusherd3": "DOWN"})
    sockets = [await _subscribed(lb_port, nodes[0].key) for _ in range(4)]
    # leastconn spreads the sockets: both live nodes hold some.
    held = [await _connections(node) for node in nodes]
    assert sum(held) == 4 and min(held) >= 1, held
    sdk = pusher.Pusher(
        app_id=nodes[0].app_id,
        key=nodes[0].key,
        secret=nodes[0].secret,
        host="127.0.0.1",
        port=lb_port,
        ssl=False,
    )
    await asyncio.to_thread(sdk.trigger, "lb", "through", {"n": 1})
    for ws in sockets:
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (event["event"], event["channel"]) == ("through", "lb")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port}") as http:
        assert (await http.get("/up")).status_code == 200
        assert (await http.get("/metrics")).status_code == 403
    for ws in sockets:
        await ws.close()


async def _connections(node: RunningServer) -> int:
    async with httpx.AsyncClient(base_url=node.http_url) as http:
        text = (await http.get("/metrics")).text
    found = re.search(rf'^pusherd_connections{{app_id="{node.app_id}"}} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


async def test_a_stopped_node_is_marked_down_and_new_sockets_go_to_the_other(
    nodes: list[RunningServer], haproxy: tuple[int, int]
) -> None:
    lb_port, stats_port = haproxy
    await _wait_states(stats_port, {"pusherd1": "UP", "pusherd2": "UP"})
    await asyncio.to_thread(nodes[0].stop)
    await _wait_states(stats_port, {"pusherd1": "DOWN", "pusherd2": "UP"})
    sockets = [await _subscribed(lb_port, nodes[1].key) for _ in range(3)]
    assert await _connections(nodes[1]) == 3
    for ws in sockets:
        await ws.close()
