"""The paths issue 12 measures beyond fan-out: connection set-up, a reconnect storm, the HTTP
trigger API (one event per call, and ``batch_events`` of 10). Each takes a running server and
returns a flat dict of figures, like :mod:`bench.scenarios`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from bench.publisher import HttpClient, event_data, signed_target
from bench.scenarios import (
    Config,
    _errors,
    _percentile,
    _quiet_gc,
    _restore_gc,
    cpu_figures,
    probe,
    window,
)
from bench.servers import RunningServer
from bench.wsclient import EVENT_NAME, MODE_COUNT, PusherClient, Stats, close_all, open_many

#: Channels of the trigger scenarios: subscriber i listens on channel i, one each.
TRIGGER_CHANNELS = 1000
#: pusher-js: a connection that closes without a Pusher close code is retried after 1 s
#: (``ConnectionManager`` ``closed`` callback: ``retryIn(1000)``), no jitter.
PUSHER_JS_RETRY_S = 1.0


def _channel(i: int) -> str:
    return f"bench-t-{i}"


async def connect_subscribe(srv: RunningServer, n: int, cfg: Config) -> dict[str, Any]:
    """Open ``n`` connections (200 handshakes in flight) and subscribe each to its own channel:
    the set-up cost of a connection, timed from the first SYN to the last subscription."""
    stats = Stats()
    app = srv.app
    _quiet_gc()
    p0 = probe(srv, 0, stats)
    t = time.perf_counter()
    clients = await open_many(srv.port, n, stats, app.key, lambda i: f"bench-c-{i % 100}")
    elapsed = time.perf_counter() - t
    p1 = probe(srv, n, stats)
    _restore_gc()
    try:
        w = window(p0, p1)
        server_cpu = p1.server_cpu - p0.server_cpu
        return {
            "connections": n,
            "connect_subscribe_per_s": round(n / elapsed),
            "seconds": round(elapsed, 2),
            "server_cpu_us_per_conn": round(server_cpu * 1e6 / n, 1),
            **cpu_figures(w),
            "errors": _errors(stats),
        }
    finally:
        close_all(clients)


async def reconnect_storm(srv: RunningServer, n: int, cfg: Config) -> dict[str, Any]:
    """``n`` subscribed clients are all dropped at once (RST, as a network blip looks to the
    server) and reconnect as pusher-js does: 1 s after the close, then subscribe again. Figure:
    the time from the drop until every client is subscribed again (the 1 s is included, the
    same for both servers). At most 1,000 handshakes are in flight from the load generator."""
    stats = Stats()
    app = srv.app

    def channel(i: int) -> str:
        return f"bench-c-{i % 100}"

    clients = await open_many(srv.port, n, stats, app.key, channel)
    await asyncio.sleep(1.0)
    _quiet_gc()
    p0 = probe(srv, 0, stats)
    t0 = time.perf_counter()
    close_all(clients)
    await asyncio.sleep(PUSHER_JS_RETRY_S)
    again: list[PusherClient] = []
    try:
        again = await open_many(srv.port, n, stats, app.key, channel, concurrency=1000)
        elapsed = time.perf_counter() - t0
        p1 = probe(srv, n, stats)
        _restore_gc()
        w = window(p0, p1)
        return {
            "connections": n,
            "storm_s": round(elapsed, 2),
            "resubscribed": len(again),
            "server_cpu_s": round(p1.server_cpu - p0.server_cpu, 2),
            **cpu_figures(w),
            "errors": _errors(stats),
        }
    finally:
        close_all(again)


async def _trigger(srv: RunningServer, cfg: Config, per_request: int) -> dict[str, Any]:
    """HTTP API requests as fast as the server answers them, from 4 keep-alive connections,
    each carrying ``per_request`` events (1: ``/events``; more: ``/batch_events``) to
    consecutive channels of 1,000 with one subscriber each. Delivery latency: the request's
    send time (in the event data) to the read that carried the frame."""
    stats = Stats()
    app = srv.app
    clients = await open_many(srv.port, TRIGGER_CHANNELS, stats, app.key, _channel)
    https = [HttpClient(srv.port) for _ in range(cfg.http_connections)]
    pad = "x" * cfg.pad_bytes
    sent = 0
    failures: list[str] = []
    accepted = 0
    running = True
    path = "events" if per_request == 1 else "batch_events"

    def body(seq: int) -> bytes:
        t_ns = time.time_ns()
        events = [
            {
                "name": EVENT_NAME,
                "channel": _channel((seq * per_request + k) % TRIGGER_CHANNELS),
                "data": event_data(seq * per_request + k, t_ns, pad),
            }
            for k in range(per_request)
        ]
        if per_request == 1:
            return orjson.dumps(events[0])
        return orjson.dumps({"batch": events})

    async def worker(hc: HttpClient) -> None:
        nonlocal sent, accepted
        while running:
            seq = sent
            sent += 1
            raw = body(seq)
            target = signed_target(app.app_id, app.key, app.secret, raw, resource=path)
            try:
                status, resp = await hc.request("POST", target, raw)
            except (OSError, TimeoutError) as exc:
                status, resp = 0, repr(exc).encode()
            if status == 200:
                accepted += 1
            elif len(failures) < 5:
                failures.append(f"{path}: HTTP {status} {resp[:200]!r}")
                await asyncio.sleep(0.1)

    try:
        for c in clients:
            c.mode = MODE_COUNT
            c.latency = True
        _quiet_gc()
        tasks = [asyncio.ensure_future(worker(hc)) for hc in https]
        await asyncio.sleep(cfg.pairs_warmup)
        stats.latencies_ns = []
        stats.latency_since_ns = time.time_ns()
        a0 = accepted
        p0 = probe(srv, accepted, stats)
        await asyncio.sleep(cfg.pairs_duration)
        p1 = probe(srv, accepted, stats)
        a1 = accepted
        running = False
        await asyncio.gather(*tasks)
        drained = await stats.wait_delivered(accepted * per_request, cfg.drain_timeout)
        _restore_gc()
        lat = sorted(stats.latencies_ns or [])
        w = window(p0, p1)
        return {
            "events_per_request": per_request,
            "requests_per_s": round((a1 - a0) / w["seconds"]),
            "events_per_s": round((a1 - a0) * per_request / w["seconds"]),
            "requests_per_server_cpu_s": round(w["per_server_cpu_s"]),
            "latency_p50_ms": round(_percentile(lat, 0.50), 3),
            "latency_p99_ms": round(_percentile(lat, 0.99), 3),
            **cpu_figures(w),
            "lost_deliveries": max(0, accepted * per_request - stats.delivered),
            "drained": drained,
            "errors": _errors(stats) + failures,
        }
    finally:
        for hc in https:
            hc.close()
        close_all(clients)


async def trigger(srv: RunningServer, size: int, cfg: Config) -> dict[str, Any]:
    return await _trigger(srv, cfg, 1)


async def batch(srv: RunningServer, size: int, cfg: Config) -> dict[str, Any]:
    return await _trigger(srv, cfg, size)
