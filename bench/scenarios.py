"""The four measurements. Each takes a running server and returns a flat dict of figures."""

from __future__ import annotations

import asyncio
import gc
import resource
import time
from dataclasses import dataclass
from typing import Any

import orjson

from bench.publisher import HttpClient, Publisher, event_data, match_update_data
from bench.servers import RunningServer, runqueue_wait_seconds
from bench.wsclient import (
    MODE_COUNT,
    MODE_PING,
    MODE_PONG,
    PusherClient,
    Stats,
    client_frame,
    close_all,
    open_many,
    private_auth,
)


@dataclass
class Config:
    fanout_duration: float = 15.0
    fanout_warmup: float = 3.0
    # events kept in flight = max(min_window, window_deliveries // subscribers)
    window_deliveries: int = 100_000
    min_window: int = 4
    http_connections: int = 4
    pad_bytes: int = 64
    seq_sample: int = 50  # every 50th subscriber checks every sequence number
    latency_duration: float = 20.0
    latency_warmup: float = 2.0
    latency_deliveries_per_s: int = 20_000
    latency_sample: int = 1  # every subscriber timestamps what it receives
    latency_kernel_clock: bool = True  # receive time from SO_TIMESTAMPNS, not from the read
    memory_settle: float = 3.0
    pairs_duration: float = 10.0
    pairs_warmup: float = 2.0
    stall_timeout: float = 10.0
    drain_timeout: float = 15.0
    offer_deflate: bool = False  # subscribers offer permessage-deflate, as browsers do
    match_update_events: bool = False  # events shaped like the poller's match.update


@dataclass
class Probe:
    t: float
    load_cpu: float
    load_wait: float
    server_cpu: float
    server_wait: float
    count: int
    reads: int


def _load_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def probe(srv: RunningServer, count: int, stats: Stats) -> Probe:
    return Probe(
        time.perf_counter(),
        _load_cpu(),
        runqueue_wait_seconds("self"),
        srv.cpu_seconds(),
        srv.wait_seconds(),
        count,
        stats.reads,
    )


def window(p0: Probe, p1: Probe) -> dict[str, float]:
    dt = p1.t - p0.t
    server_cpu = p1.server_cpu - p0.server_cpu
    return {
        "seconds": round(dt, 3),
        "count": p1.count - p0.count,
        "per_s": (p1.count - p0.count) / dt,
        "per_server_cpu_s": (p1.count - p0.count) / server_cpu if server_cpu > 0 else 0.0,
        "server_cpu_pct": 100.0 * server_cpu / dt,
        "server_wait_pct": 100.0 * (p1.server_wait - p0.server_wait) / dt,
        "load_cpu_pct": 100.0 * (p1.load_cpu - p0.load_cpu) / dt,
        "load_wait_pct": 100.0 * (p1.load_wait - p0.load_wait) / dt,
        "frames_per_read": (p1.count - p0.count) / max(1, p1.reads - p0.reads),
        "load_cpu_s": p1.load_cpu - p0.load_cpu,
    }


def cpu_figures(w: dict[str, float]) -> dict[str, Any]:
    """CPU use of both sides over a measurement window. ``*_wait_pct`` is time spent runnable
    but waiting for the CPU (other processes on that core); ``*_saturated`` is set when that
    side used or waited for at least 90% of its core. A saturated load generator with an
    unsaturated server means the figure measures the load generator."""
    return {
        "server_cpu_pct": round(w["server_cpu_pct"], 1),
        "server_wait_pct": round(w["server_wait_pct"], 1),
        "load_cpu_pct": round(w["load_cpu_pct"], 1),
        "load_wait_pct": round(w["load_wait_pct"], 1),
        "load_saturated": w["load_cpu_pct"] + w["load_wait_pct"] >= 90.0,
        "server_saturated": w["server_cpu_pct"] + w["server_wait_pct"] >= 90.0,
    }


def _quiet_gc() -> None:
    """Collect once, move everything alive to the permanent generation, stop automatic GC
    (the load generator must not pause mid-measurement)."""
    gc.collect()
    gc.freeze()
    gc.disable()


def _restore_gc() -> None:
    gc.unfreeze()
    gc.enable()
    gc.collect()


def _errors(stats: Stats, limit: int = 5) -> list[str]:
    return stats.errors[:limit]


async def fanout(srv: RunningServer, subscribers: int, cfg: Config) -> dict[str, Any]:
    """Publish as fast as the server delivers, with a bounded number of events in flight."""
    stats = Stats()
    app = srv.app
    channel = "bench-fanout"
    t_setup = time.perf_counter()
    clients = await open_many(
        srv.port, subscribers, stats, app.key, lambda i: channel, offer_deflate=cfg.offer_deflate
    )
    setup_s = time.perf_counter() - t_setup
    pub = Publisher(
        srv.port,
        app.app_id,
        app.key,
        app.secret,
        channel,
        cfg.pad_bytes,
        cfg.http_connections,
        match_update_data if cfg.match_update_events else event_data,
    )
    try:
        for i, c in enumerate(clients):
            c.mode = MODE_COUNT
            c.check_seq = i % cfg.seq_sample == 0
        in_flight = max(cfg.min_window, cfg.window_deliveries // subscribers)
        running = True
        stalled = False

        async def worker(client: HttpClient) -> None:
            nonlocal stalled
            while running:
                issued = pub.next_seq - pub.failed
                target = (issued + 1 - in_flight) * subscribers
                if not await stats.wait_delivered(target, cfg.stall_timeout):
                    stalled = True
                    return
                if running and not await pub.publish(client):
                    await asyncio.sleep(0.1)  # server refusing or gone: do not spin

        _quiet_gc()
        tasks = [asyncio.ensure_future(worker(c)) for c in pub.clients]
        await asyncio.sleep(cfg.fanout_warmup)
        p0 = probe(srv, stats.delivered, stats)
        bytes0 = stats.bytes_in
        await asyncio.wait(tasks, timeout=cfg.fanout_duration)
        p1 = probe(srv, stats.delivered, stats)
        bytes1 = stats.bytes_in
        running = False
        await asyncio.gather(*tasks)
        expected = pub.accepted * subscribers
        drained = await stats.wait_delivered(expected, cfg.drain_timeout)
        await asyncio.sleep(0.3)  # let any duplicate arrive
        _restore_gc()
        w = window(p0, p1)
        short = [c for c in clients if c.events < pub.accepted]
        lost = sum(pub.accepted - c.events for c in short)
        extra = sum(max(0, c.events - pub.accepted) for c in clients)
        sampled = [c for c in clients if c.check_seq]
        seq_missing = sum(max(0, pub.accepted - len(c.seen)) for c in sampled)
        return {
            "subscribers": subscribers,
            "setup_s": round(setup_s, 2),
            "events_in_flight": in_flight,
            "deliveries_per_s": round(w["per_s"]),
            "deliveries_per_server_cpu_s": round(w["per_server_cpu_s"]),
            "events_per_s": round(w["per_s"] / subscribers, 1),
            **cpu_figures(w),
            "frames_per_read": round(w["frames_per_read"], 2),
            "load_us_per_delivery": round(w["load_cpu_s"] * 1e6 / max(1.0, w["count"]), 2),
            "bytes_per_delivery": round((bytes1 - bytes0) / max(1, w["count"]), 1),
            "subscribers_deflate": stats.deflated,
            "window_s": w["seconds"],
            "events_published": pub.accepted,
            "publish_failures": pub.failed,
            "lost_deliveries": lost,
            "subscribers_missing_events": len(short),
            "duplicate_deliveries": extra,
            "sampled_subscribers": len(sampled),
            "sampled_seq_missing": seq_missing,
            "seq_errors": stats.seq_errors,
            "connections_closed": stats.closed,
            "stalled": stalled,
            "drained": drained,
            "errors": _errors(stats) + pub.failures[:5],
        }
    finally:
        pub.close()
        close_all(clients)


def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i] / 1e6  # ns -> ms


async def latency(srv: RunningServer, subscribers: int, cfg: Config) -> dict[str, Any]:
    """Paced publishing so that deliveries/s = cfg.latency_deliveries_per_s.

    Trigger-to-receive latency = receive time - trigger time. The trigger time (CLOCK_REALTIME)
    is taken just before the HTTP request is written and travels in the event data. The receive
    time is the kernel's timestamp of the read that carried the frame (SO_TIMESTAMPNS, i.e. when
    the bytes reached the subscriber's socket), so the load generator's own queueing is not
    counted; with ``latency_kernel_clock=False`` it is the time the read reaches Python."""
    stats = Stats()
    app = srv.app
    channel = "bench-latency"
    clients = await open_many(srv.port, subscribers, stats, app.key, lambda i: channel)
    pub = Publisher(srv.port, app.app_id, app.key, app.secret, channel, cfg.pad_bytes, 4)
    try:
        for i, c in enumerate(clients):
            c.mode = MODE_COUNT
            c.check_seq = i % cfg.seq_sample == 0
            c.latency = i % cfg.latency_sample == 0
        clock = "read (load generator)"
        if cfg.latency_kernel_clock:
            kernel = [c.use_kernel_timestamps() for c in clients if c.latency]
            if kernel and all(kernel):
                clock = "kernel (SO_TIMESTAMPNS)"
        rate = cfg.latency_deliveries_per_s / subscribers
        interval = 1.0 / rate
        total = max(2, round(cfg.latency_duration * rate))
        warm = max(1, round(cfg.latency_warmup * rate))
        free: asyncio.Queue[HttpClient] = asyncio.Queue()
        for hc in pub.clients:
            free.put_nowait(hc)
        late = 0

        async def one(hc: HttpClient) -> None:
            try:
                await pub.publish(hc)
            finally:
                free.put_nowait(hc)

        _quiet_gc()
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Future[None]] = []
        p0 = probe(srv, 0, stats)
        t0 = loop.time()
        for k in range(total):
            delay = t0 + k * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -interval / 2:
                late += 1
            if k == warm:  # after the sleep: the previous publish has taken its timestamp
                stats.latencies_ns = []
                stats.completion_ns = {}
                stats.latency_since_ns = time.time_ns()
                p0 = probe(srv, stats.delivered, stats)
            hc = await free.get()
            tasks.append(asyncio.ensure_future(one(hc)))
        await asyncio.sleep(interval)
        p1 = probe(srv, stats.delivered, stats)
        await asyncio.gather(*tasks)
        drained = await stats.wait_delivered(pub.accepted * subscribers, cfg.drain_timeout)
        _restore_gc()
        lat = sorted(stats.latencies_ns or [])
        done = sorted(stats.completion_ns.values())
        w = window(p0, p1)
        short = [c for c in clients if c.events < pub.accepted]
        return {
            "subscribers": subscribers,
            "events_per_s": round(rate, 2),
            "target_deliveries_per_s": cfg.latency_deliveries_per_s,
            "deliveries_per_s": round(w["per_s"]),
            "events_measured": total - warm,
            "latency_samples": len(lat),
            "sampled_subscribers": sum(1 for c in clients if c.latency),
            "receive_clock": clock,
            "reads_without_kernel_timestamp": stats.untimestamped,
            "reads": p1.reads - p0.reads,
            "other_frames": stats.other_frames,
            "spurious_wakeups": stats.spurious,
            "deliveries_not_timed": stats.untimed,
            "p50_ms": round(_percentile(lat, 0.50), 3),
            "p90_ms": round(_percentile(lat, 0.90), 3),
            "p99_ms": round(_percentile(lat, 0.99), 3),
            "p999_ms": round(_percentile(lat, 0.999), 3),
            "max_ms": round(lat[-1] / 1e6, 3) if lat else float("nan"),
            # per event: latency of its last delivery (the whole fan-out); a pause in the
            # server shows here as a few events far above the median
            "fanout_completion_p50_ms": round(_percentile(done, 0.5), 3),
            "fanout_completion_max_ms": round(done[-1] / 1e6, 3) if done else float("nan"),
            "events_completed_over_2x_median": sum(1 for d in done if d > 2 * done[len(done) // 2])
            if done
            else 0,
            **cpu_figures(w),
            "publishes_late": late,
            "publish_failures": pub.failed,
            "lost_deliveries": sum(pub.accepted - c.events for c in short),
            "drained": drained,
            "connections_closed": stats.closed,
            "errors": _errors(stats) + pub.failures[:5],
        }
    finally:
        pub.close()
        close_all(clients)


async def memory(srv: RunningServer, connections: int, cfg: Config) -> dict[str, Any]:
    """RSS/PSS of the server's process tree: baseline, after ``connections`` idle connections
    with no subscription, and after each of them has subscribed to the same public channel
    (the headline figure). 20 warm-up connections are opened (and kept) before the baseline so
    lazily-initialised code paths are not charged to the 10,000."""
    stats = Stats()
    app = srv.app
    channel = "bench-idle"
    warm = await open_many(srv.port, 20, stats, app.key, lambda i: channel)
    clients: list[PusherClient] = []
    try:
        await asyncio.sleep(cfg.memory_settle)
        rss0, pss0 = srv.memory_kib()
        t = time.perf_counter()
        clients = await open_many(srv.port, connections, stats, app.key, lambda i: None)
        connect_s = time.perf_counter() - t
        await asyncio.sleep(cfg.memory_settle)
        rss1, pss1 = srv.memory_kib()
        t = time.perf_counter()
        sem = asyncio.Semaphore(200)

        async def subscribe(c: PusherClient) -> None:
            async with sem:
                await c.subscribe(channel)

        await asyncio.gather(*(subscribe(c) for c in clients))
        subscribe_s = time.perf_counter() - t
        await asyncio.sleep(cfg.memory_settle)
        rss2, pss2 = srv.memory_kib()
        alive = sum(1 for c in clients if not c.lost)
        return {
            "connections": connections,
            "subscribed_to": "one public channel, the same for all",
            "rss_before_mib": round(rss0 / 1024, 1),
            "rss_connected_mib": round(rss1 / 1024, 1),
            "rss_after_mib": round(rss2 / 1024, 1),
            "kib_per_conn_rss": round((rss2 - rss0) / connections, 2),
            "kib_per_conn_pss": round((pss2 - pss0) / connections, 2),
            "kib_per_bare_conn_rss": round((rss1 - rss0) / connections, 2),
            "kib_per_subscription_rss": round((rss2 - rss1) / connections, 2),
            "connects_per_s": round(connections / connect_s),
            "subscribes_per_s": round(connections / subscribe_s),
            "connections_alive": alive,
            "errors": _errors(stats),
        }
    finally:
        close_all(clients)
        close_all(warm)


async def client_events(srv: RunningServer, pairs: int, cfg: Config) -> dict[str, Any]:
    """K pairs on private channels: A sends client-ping, B answers client-pong, A sends the next."""
    stats = Stats()
    app = srv.app

    def channel(i: int) -> str:
        return f"private-bench-pair-{i // 2}"

    def auth(i: int, socket_id: str, ch: str) -> str:
        return private_auth(app.key, app.secret, socket_id, ch)

    clients = await open_many(srv.port, 2 * pairs, stats, app.key, channel, auth)
    try:
        sides: list[tuple[PusherClient, PusherClient]] = []
        for k in range(pairs):
            a, b = clients[2 * k], clients[2 * k + 1]
            ch = channel(2 * k)
            a.mode, a.trigger = MODE_PING, b"client-pong"
            a.latency = True  # round-trip times: ping written -> pong read
            a.reply = client_frame(
                orjson.dumps({"event": "client-ping", "channel": ch, "data": {"n": 1}})
            )
            b.mode, b.trigger = MODE_PONG, b"client-ping"
            b.reply = client_frame(
                orjson.dumps({"event": "client-pong", "channel": ch, "data": {"n": 1}})
            )
            sides.append((a, b))
        stalls = 0
        running = True

        async def watchdog() -> None:
            nonlocal stalls
            last = [a.events for a, _ in sides]
            while running:
                await asyncio.sleep(2.0)
                for k, (a, _) in enumerate(sides):
                    if a.events == last[k] and not a.lost:
                        stalls += 1
                        a.send(a.reply)
                    last[k] = a.events

        _quiet_gc()
        for a, _ in sides:
            a.send(a.reply)
        dog = asyncio.ensure_future(watchdog())
        await asyncio.sleep(cfg.pairs_warmup)
        stats.latencies_ns = []
        p0 = probe(srv, stats.round_trips, stats)
        await asyncio.sleep(cfg.pairs_duration)
        p1 = probe(srv, stats.round_trips, stats)
        rtts = sorted(stats.latencies_ns)
        stats.latencies_ns = None
        running = False
        dog.cancel()
        await asyncio.gather(dog, return_exceptions=True)
        _restore_gc()
        w = window(p0, p1)
        return {
            "pairs": pairs,
            "round_trips_per_s": round(w["per_s"]),
            "round_trips_per_server_cpu_s": round(w["per_server_cpu_s"]),
            "rtt_p50_ms": round(_percentile(rtts, 0.50), 3),
            "rtt_p99_ms": round(_percentile(rtts, 0.99), 3),
            **cpu_figures(w),
            "stalled_pairs_restarted": stalls,
            "connections_closed": stats.closed,
            "server_errors": len(stats.errors),
            "errors": _errors(stats),
        }
    finally:
        close_all(clients)
