"""``pusherd --workers N`` on one port (issue 14, item 2): Redis required, a killed worker is
restarted and its presence members withdrawn, SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

from tests.e2e.nodes import ROOT, NodeProcess, node_environment, redis_prefix, start_node, stop_all
from tests.e2e.python_sdk import PythonSdk
from tests.pusherd.transport.wsclient import PusherSocket, open_socket

CHANNEL = "presence-lobby"
USERS = 8


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
    return found


def established_on(pid: int, port: int) -> int:
    """How many ESTABLISHED TCP sockets on local ``port`` process ``pid`` holds."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


def test_more_than_one_worker_needs_the_redis_adapter(tmp_path: Path) -> None:
    env = node_environment(tmp_path, "unused:", {"PUSHERD_ADAPTER": "memory"})
    env.pop("PUSHERD_REDIS_URL")
    done = subprocess.run(
        [sys.executable, "-m", "pusherd", "--workers", "2", "--no-poller"],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--workers 2 needs the Redis adapter" in done.stderr


async def _until(
    sock: PusherSocket, seen: list[dict[str, Any]], event: str, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Receive (keeping every frame in ``seen``) until one named ``event`` arrives."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = await sock.recv(timeout=max(0.01, deadline - time.monotonic()))
        seen.append(frame)
        if frame.get("event") == event:
            return frame


async def _member(node: NodeProcess, stack: contextlib.AsyncExitStack, index: int) -> PusherSocket:
    sock = await stack.enter_async_context(open_socket(node))
    data = json.dumps({"user_id": f"u{index}", "user_info": {}})
    await sock.subscribe_presence(node, CHANNEL, data)
    return sock


async def test_killed_worker_is_restarted_and_its_members_withdrawn(tmp_path: Path) -> None:
    async with redis_prefix() as prefix:
        env = node_environment(tmp_path, prefix)
        supervisor = await start_node(tmp_path, env, ["--workers", "2"], name="workers")
        try:
            await asyncio.sleep(3.0)
            # Both workers started cleanly (they once raced to migrate the key database).
            assert "exited with" not in supervisor.log_text(), supervisor.log_text()[-3000:]
            await _kill_one_worker(supervisor)
            started = time.monotonic()
            supervisor.signal(signal.SIGTERM)
            assert await supervisor.wait(30) == 0
            assert time.monotonic() - started < 20
        finally:
            await stop_all([supervisor])


async def _kill_one_worker(supervisor: NodeProcess) -> None:
    deadline = time.monotonic() + 20
    while len(workers := children(supervisor.process.pid)) < 2:
        assert time.monotonic() < deadline, workers
        await asyncio.sleep(0.1)
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await _member(supervisor, stack, index) for index in range(USERS)]
        load = {pid: established_on(pid, supervisor.port) for pid in workers}
        assert sum(load.values()) == USERS, load
        victim = max(load, key=lambda pid: load[pid])
        os.kill(victim, signal.SIGKILL)
        lost: list[int] = []
        kept: list[int] = []
        seen: dict[int, list[dict[str, Any]]] = {index: [] for index in range(USERS)}
        for index, sock in enumerate(sockets):
            try:
                await sock.send({"event": "pusher:ping", "data": {}})
                await _until(sock, seen[index], "pusher:pong")
                kept.append(index)
            except (ConnectionClosed, TimeoutError):
                lost.append(index)
        assert len(lost) == load[victim], (lost, load)
        # Every surviving member hears one member_removed per user of the dead worker.
        expected = sorted(f"u{i}" for i in lost)
        for index in kept:

            def removed(index: int = index) -> list[str]:
                return sorted(
                    json.loads(frame["data"])["user_id"]
                    for frame in seen[index]
                    if frame.get("event") == "pusher_internal:member_removed"
                )

            while len(removed()) < len(lost):
                await _until(sockets[index], seen[index], "pusher_internal:member_removed", 15)
            assert removed() == expected
        with PythonSdk.open(supervisor) as sdk:
            users: Any = await asyncio.to_thread(sdk.client.users_info, CHANNEL)
        assert sorted(u["id"] for u in users["users"]) == sorted(f"u{i}" for i in kept)
        # The dead worker was replaced by a new process.
        while True:
            now = children(supervisor.process.pid)
            if len(now) == 2 and victim not in now:
                break
            assert time.monotonic() < deadline + 30, now
            await asyncio.sleep(0.1)
