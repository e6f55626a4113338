"""SIGTERM of one of two nodes with 2,000 connected clients (issue 14's bar).

    .venv/bin/python -m bench.handover [--clients 2000] [--window 5]

Two pusherd processes share the real Redis; the clients connect through the health-checking
balancer of the e2e tests (``tests/e2e/balancer.py``: round robin over the nodes whose /ready
answers 200). Each client behaves as pusher-js does: on close 4200 it reconnects at once and
subscribes again (a presence channel of 50 users, its own user, and a public channel). After
SIGTERM to one node the bench checks that every client of that node reconnected to the other
within the hand-over window (plus the 3 s presence grace), that every client still receives
both its channels, and that no client saw a ``member_removed`` (every user stayed).
Writes ``bench/results/handover.json`` and prints a Markdown table with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import resource
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench import servers
from bench.publisher import signed_target
from bench.servers import PUSHERD_APP
from bench.workers import UnpinnedKind
from tests.e2e.balancer import Balancer

RESULTS = Path(__file__).resolve().parent / "results"
PER_ROOM = 50
NEWS = "news"


def _sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


@dataclass
class Client:
    index: int
    port: int
    room: str
    connections: int = 0
    closes: list[int] = field(default_factory=list)
    member_removed: int = 0
    after: set[str] = field(default_factory=set)
    subscribed_at: float = 0.0
    lost: bool = False
    retries: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False

    async def run(self) -> None:
        app = PUSHERD_APP
        url = f"ws://127.0.0.1:{self.port}/app/{app.key}?protocol=7&client=js&version=8.4.0"
        user = json.dumps({"user_id": f"u{self.index}", "user_info": {}})
        while not self.stopping:
            try:
                async with connect(url, ping_interval=None, open_timeout=60) as ws:
                    first = json.loads(await ws.recv())
                    socket_id = json.loads(first["data"])["socket_id"]
                    self.connections += 1
                    signature = _sign(app.secret, f"{socket_id}:{self.room}:{user}")
                    await ws.send(
                        json.dumps(
                            {
                                "event": "pusher:subscribe",
                                "data": {
                                    "channel": self.room,
                                    "auth": f"{app.key}:{signature}",
                                    "channel_data": user,
                                },
                            }
                        )
                    )
                    await ws.send(
                        json.dumps({"event": "pusher:subscribe", "data": {"channel": NEWS}})
                    )
                    subscribed = 0
                    async for raw in ws:
                        frame = json.loads(raw)
                        event = frame.get("event")
                        if event == "pusher_internal:subscription_succeeded":
                            subscribed += 1
                            if subscribed == 2:
                                self.subscribed_at = time.monotonic()
                                self.ready.set()
                        elif event == "pusher_internal:member_removed":
                            self.member_removed += 1
                        elif event == "after":
                            self.after.add(frame["channel"])
                    code = ws.close_code or 1006
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
            except (OSError, InvalidHandshake, TimeoutError):
                code = 1006
            if self.stopping:
                return
            self.closes.append(code)
            self.ready.clear()
            if code == 4200:  # pusher-js: reconnect at once
                continue
            # pusher-js retries an abnormal close after a pause; five failures is a lost client.
            self.retries += 1
            if self.retries > 5:
                self.lost = True
                return
            await asyncio.sleep(1.0)


async def _trigger(port: int, channels: list[str]) -> None:
    body = json.dumps({"name": "after", "channels": channels, "data": "{}"}).encode()
    target = signed_target(PUSHERD_APP.app_id, PUSHERD_APP.key, PUSHERD_APP.secret, body)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"http://127.0.0.1:{port}{target}",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    response.raise_for_status()


async def run(count: int, window_s: float, prefix: str) -> dict[str, Any]:
    env = {
        "PUSHERD_ADAPTER": "redis",
        "PUSHERD_REDIS_URL": "redis://127.0.0.1:6379/0",
        "PUSHERD_REDIS_PREFIX": prefix,
        "PUSHERD_LARAVEL_REDIS_PREFIX": "off",
        "PUSHERD_HANDOVER_WINDOW_S": str(window_s),
        # Behind a load balancer every connection comes from its address: the front door's
        # per-address cap on unfinished handshakes (32) would drop a hand-over's reconnects.
        "PUSHERD_MAX_HANDSHAKES_PER_ADDRESS": "0",
    }
    kind = UnpinnedKind(
        "pusherd", PUSHERD_APP, "/ready", extra_env=env, extra_args=["--log-level", "warning"]
    )
    leaving, staying = servers.start(kind, "handover-a"), servers.start(kind, "handover-b")
    await leaving.wait_ready()
    await staying.wait_ready()
    load_before = os.getloadavg()
    upstreams = [("127.0.0.1", leaving.port), ("127.0.0.1", staying.port)]
    async with Balancer.start(upstreams) as balancer:
        clients = [Client(i, balancer.port, f"presence-room-{i // PER_ROOM}") for i in range(count)]
        tasks: list[asyncio.Task[None]] = []
        for start in range(0, count, 100):  # connect in waves of 100
            batch = clients[start : start + 100]
            tasks.extend(asyncio.create_task(c.run()) for c in batch)
            await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in batch)), 120)
        on_leaving = balancer.relayed[("127.0.0.1", leaving.port)]
        signalled = time.monotonic()
        leaving.proc.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(leaving.proc.wait, 60)
        exited_s = time.monotonic() - signalled
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(c.ready.is_set() or c.lost for c in clients):
                break
            await asyncio.sleep(0.1)
        moved = [c for c in clients if c.closes]
        back = [c.subscribed_at - signalled for c in moved if c.ready.is_set()]
        last_back_s = max(back, default=0.0)
        close_codes: dict[int, int] = {}
        for c in moved:
            for code in c.closes:
                close_codes[code] = close_codes.get(code, 0) + 1
        rooms = sorted({c.room for c in clients})
        await _trigger(staying.port, [NEWS, *rooms])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(c.after == {NEWS, c.room} for c in clients):
                break
            await asyncio.sleep(0.1)
        load_after = os.getloadavg()
        for c in clients:
            c.stopping = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    servers.stop_all()
    return {
        "clients": count,
        "window_s": window_s,
        "clients_on_leaving_node": on_leaving,
        "clients_closed_4200": sum(1 for c in moved if set(c.closes) == {4200}),
        "clients_reconnected": sum(1 for c in moved if c.ready.is_set() and not c.lost),
        "close_codes": close_codes,
        "clients_not_back": sum(1 for c in clients if not c.ready.is_set()),
        "connections_per_client_max": max(c.connections for c in clients),
        "last_resubscribed_after_sigterm_s": round(last_back_s, 2),
        "leaving_node_exit_code": exit_code,
        "leaving_node_exited_after_s": round(exited_s, 2),
        "clients_lost": sum(1 for c in clients if c.lost),
        "abnormal_closes_retried": sum(c.retries for c in clients),
        "clients_missing_a_channel": sum(1 for c in clients if c.after != {NEWS, c.room}),
        "member_removed_seen": sum(c.member_removed for c in clients),
        "load_average_before": load_before,
        "load_average_after": load_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.handover")
    parser.add_argument("--clients", type=int, default=2_000)
    parser.add_argument("--window", type=float, default=5.0)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65_536), hard))
    prefix = f"bench:{uuid.uuid4().hex}:"
    try:
        result = asyncio.run(run(args.clients, args.window, prefix))
    finally:
        servers.stop_all()
        client = redis.Redis()
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "handover.json").write_text(json.dumps(result, indent=2))
    for name, value in result.items():
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
