"""Data API bench (issue 11, "The bar"): ``GET /api/v1/sports/football/matches/live`` served from
the read cache, authenticated, rate-limited and usage-counted, against a bare Starlette route
returning the same bytes, in the same run, as ratios; plus the same with ``If-None-Match`` (304)
and the p99 latency at a paced 1,000 requests/s.

    .venv/bin/python -m bench.dataapi [--seconds 5] [--connections 32] [--rounds 3]

Each server is one uvicorn process (uvloop, httptools) pinned to CPU 0; this process, the load
generator (raw keep-alive HTTP/1.1 on asyncio sockets, so the client is not the bottleneck),
runs on CPU 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from auth.pepper import Peppers

PATH = "/api/v1/sports/football/matches/live"
NOW = 1_791_036_000.0  # 2026-10-03 14:00 UTC


class _Clock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


def _live_matches() -> list[dict[str, object]]:
    return [
        {
            "match_id": 990100 + n,
            "sport_id": "football",
            "league_id": "premier-league",
            "status": "live",
            "home_team": {"id": 100 + 2 * n, "name": f"Home {n}", "score": n % 3},
            "away_team": {"id": 101 + 2 * n, "name": f"Away {n}", "score": 1},
            "period": "2nd Half",
            "time": f"{60 + n}:00",
            "last_updated": "2026-10-03T14:00:00Z",
        }
        for n in range(10)
    ]


def bench_key() -> str:
    """The one key both processes know: issued from a seeded generator."""
    from auth.keys import issue_key

    issued = issue_key(
        rng=random.Random(1),
        peppers=_peppers(),
        name="bench",
        tier="enterprise",
        now=datetime.fromtimestamp(NOW, UTC),
    )
    return issued.plain.reveal()


def _peppers() -> Peppers:
    """The bench's fixed pepper: both processes must hash the one key alike."""
    return Peppers.from_texts("bench-pepper-for-the-data-api-benchmark")


def _body() -> bytes:
    """What both servers answer (the API builds it from the cache; the bare route has it)."""
    return orjson.dumps(
        {"data": _live_matches(), "next": None, "last_updated": "2026-10-03T14:00:00Z"}
    )


def build(mode: str) -> Starlette:
    body = _body()
    if mode == "bare":

        async def bare(request: Request) -> Response:
            return Response(body, media_type="application/json")

        return Starlette(routes=[Route(PATH, bare)])
    return _full_app()


def _full_app() -> Starlette:
    from argon2 import PasswordHasher

    from auth.app import build_auth_app
    from auth.channel_auth import AppCredentials
    from auth.keys import issue_key
    from auth.policy import Policy, default_policy, load_policy
    from auth.store import MemoryKeyStore
    from dataapi.app import build_data_api
    from dataapi.keycache import CachedKeyVerifier
    from dataapi.livecache import ParsedOnce
    from dataapi.ratelimit import MemoryRateLimiter
    from dataapi.reader import SqlMatchReader
    from dataapi.resources import DataResources
    from dataapi.store import open_match_engine
    from dataapi.usage import MemoryUsageSink, UsageCounter
    from poller.cache import MemoryCache, cache_key
    from pusherd.data_api import AuthKeyIdentities
    from pusherd.protocol.secret import Secret

    clock = _Clock()
    store = MemoryKeyStore()
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    store.put(
        issue_key(
            rng=random.Random(1),
            peppers=_peppers(),
            name="bench",
            tier="enterprise",
            now=datetime.fromtimestamp(NOW, UTC),
        ).record
    )
    tiers = [
        {
            "name": "enterprise",
            "max_connections": 1,
            "rest_requests_per_minute": 1_000_000_000,  # limited, never refused
            "data_api": {"resources": ["live"]},
        }
    ]
    policy: Policy = load_policy({"tiers": tiers, "channels": []}) or default_policy()
    auth_app = build_auth_app(
        store=store,
        policy=policy,
        credentials=AppCredentials(key="k", secret=Secret("s")),
        clock=clock,
        peppers=_peppers(),
        hasher=hasher,
        rng=random.Random(2),
    )
    cache = MemoryCache(clock=clock)
    asyncio.run(cache.put_many({"cache:football:live": (orjson.dumps(_live_matches()), 10**8)}))
    engine = open_match_engine(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3").__enter__()
    app = build_data_api(
        resources=DataResources(
            sports=("football",),
            cache=ParsedOnce(cache, key_of=cache_key),
            history=SqlMatchReader(engine=engine),
            clock=clock,
        ),
        verifier=CachedKeyVerifier(
            AuthKeyIdentities(verifier=auth_app.state.auth_service.verifier, policy=policy),
            clock=clock,
            digest_key=random.Random(3).randbytes(32),
        ),
        limiter=MemoryRateLimiter(clock=clock),
        usage=UsageCounter(sink=MemoryUsageSink(), clock=clock, flush_every_s=3600),
    )
    return Starlette(routes=[Mount("/api/v1", app=app)])


def serve(mode: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        build(mode),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run()


def _request(headers: dict[str, str]) -> bytes:
    lines = [f"GET {PATH} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def throughput(port: int, raw: bytes, connections: int, seconds: float) -> float:
    deadline = time.monotonic() + seconds
    counts = [0] * connections

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _one(reader, writer, raw)  # warm
        while time.monotonic() < deadline:
            await _one(reader, writer, raw)
            counts[index] += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return sum(counts) / (time.monotonic() - started)


async def paced_p99_ms(port: int, raw: bytes, rate: int, seconds: float) -> float:
    """p99 latency when requests are sent on a fixed schedule (no coordinated omission: each
    request is timed from when it was due)."""
    pool = [await asyncio.open_connection("127.0.0.1", port) for _ in range(32)]
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for pair in pool:
        free.put_nowait(pair)
    latencies: list[float] = []
    start = time.monotonic()

    async def one(due: float) -> None:
        reader, writer = await free.get()
        await _one(reader, writer, raw)
        latencies.append(time.monotonic() - due)
        free.put_nowait((reader, writer))

    tasks = []
    for n in range(int(rate * seconds)):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    for _, writer in pool:
        writer.close()
    return statistics.quantiles(latencies, n=100)[98] * 1000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(mode: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    code = f"from bench.dataapi import serve; serve({mode!r}, {port})"
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", code])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError(f"{mode} server did not start")


async def measure(mode: str, headers: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    server, port = _start(mode)
    try:
        raw = _request(headers)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _one(reader, writer, raw) == 200
        writer.close()
        result = {"rps": await throughput(port, raw, args.connections, args.seconds)}
        if mode == "api":
            etag = await _etag(port, headers)
            cond = _request({**headers, "If-None-Match": etag})
            result["rps_304"] = await throughput(port, cond, args.connections, args.seconds)
        result["p99_ms"] = await paced_p99_ms(port, raw, 1000, args.seconds)
        return result
    finally:
        server.terminate()
        server.wait(10)


async def _etag(port: int, headers: dict[str, str]) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request(headers))
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    writer.close()
    return next(
        line.split(": ", 1)[1] for line in head.split("\r\n") if line.lower().startswith("etag:")
    )


def cpu_us_per_request(mode: str, headers: dict[str, str], count: int) -> float:
    """CPU time per request through the whole ASGI app, no sockets: unlike req/s on a shared
    machine, a process's own CPU time barely moves with the other processes' load."""
    app = build(mode)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *raw],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(str(message["status"])))

    async def run() -> float:
        for _ in range(200):  # warm: caches filled, code paths hot
            await app(dict(scope), receive, send)
        statuses.clear()
        started = time.process_time()
        for _ in range(count):
            await app(dict(scope), receive, send)
        return time.process_time() - started

    import uvloop

    spent = uvloop.run(run())
    assert len(set(statuses)) == 1 and statuses[0] in (200, 304), set(statuses)
    return spent / count * 1e6


def cpu_figures() -> None:
    from dataapi.freshness import entity_tag

    key = {"X-API-Key": bench_key()}
    bare_us = cpu_us_per_request("bare", {}, 20_000)
    api_us = cpu_us_per_request("api", key, 20_000)
    tag_us = cpu_us_per_request("api", {**key, "If-None-Match": entity_tag(_body())}, 20_000)
    print(
        f"CPU per request (in process, no sockets): bare {bare_us:.1f} us, API {api_us:.1f} us"
        f" ({bare_us / api_us:.2f}x), API 304 {tag_us:.1f} us ({bare_us / tag_us:.2f}x)",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    """Bare and API alternate, ``--rounds`` times; the medians are printed (a shared machine's
    noise moves both sides of one round together)."""
    os.sched_setaffinity(0, {1})
    rounds = []
    for _ in range(args.rounds):
        bare = await measure("bare", {}, args)
        api = await measure("api", {"X-API-Key": bench_key()}, args)
        rounds.append((bare, api))
        print(
            f"round: bare {bare['rps']:.0f}/s, API {api['rps']:.0f}/s, 304 {api['rps_304']:.0f}/s,"
            f" p99@1000/s bare {bare['p99_ms']:.1f} ms API {api['p99_ms']:.1f} ms",
            flush=True,
        )

    def median(values: list[float]) -> float:
        return statistics.median(values)

    print(f"median bare Starlette route      {median([b['rps'] for b, _ in rounds]):7.0f} req/s")
    print(f"median API 200 (auth+limit+usage) {median([a['rps'] for _, a in rounds]):6.0f} req/s")
    print(
        f"median API 304                   {median([a['rps_304'] for _, a in rounds]):7.0f} req/s"
    )
    print(
        f"median ratios: 200 {median([a['rps'] / b['rps'] for b, a in rounds]):.2f} (bar 0.5),"
        f" 304 {median([a['rps_304'] / b['rps'] for b, a in rounds]):.2f} (bar 0.7);"
        f" API p99 at 1000/s {median([a['p99_ms'] for _, a in rounds]):.1f} ms (bar 10)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.dataapi")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    import uvloop

    arguments = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    cpu_figures()
    uvloop.run(main(arguments))
    print(f"load average after: {os.getloadavg()}", flush=True)
