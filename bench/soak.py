"""Soak: N WebSocket connections held against a pusherd subprocess, with churn and steady fan-out.

    python -m bench.soak --connections 10000 --minutes 30

Connections subscribe to public channels ``soak-{k}`` and (a fraction) to presence channels
``presence-soak-{k}`` (at most ~50 members each, under Pusher's 100). Each second a fraction of
them switch channel (unsubscribe, subscribe elsewhere: presence leaves and joins), and a smaller
fraction close and reconnect. Signed HTTP triggers go out at a fixed rate, round-robin over the
channels, each carrying ``{"seq": n, "ch": k}``. The server's RSS is sampled every
``--sample-s``; ``/metrics`` is scraped for ``pusherd_event_loop_lag_seconds`` when the server
has it, and a separate probe process measures the round trip of ``pusher:ping`` once a second
(in its own process so the load generator's own pauses are not counted).

Lost deliveries are counted exactly: a subscription period that began (``subscription_succeeded``)
before a trigger was sent, and ended (``pusher:unsubscribe`` sent) after the trigger's 200 came
back, must receive that event once. Events outside any period (in flight around a switch) are
reported as ``outside_periods``, not as losses.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import random
import resource
import sys
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import servers
from bench.publisher import HttpClient, signed_target
from bench.soakprobe import probe_main, scrape_lag
from bench.soakreport import RunFacts, report, summary
from bench.soakstats import Ledger, Period, Tally
from bench.wsclient import (
    EVENT_NAME,
    MODE_COUNT,
    PusherClient,
    Stats,
    _int_after,
    connect,
    event_frame,
)

RESULTS = servers.BENCH_DIR / "results"
_SEQ = b'seq\\":'
_CH = b'ch\\":'


@dataclass
class SoakConfig:
    connections: int = 10_000
    minutes: float = 30.0
    warmup_s: float = 120.0
    sample_s: float = 10.0
    trigger_rate: float = 50.0
    public_channels: int = 100
    presence_fraction: float = 0.1
    churn_fraction: float = 0.01
    reconnect_fraction: float = 0.001
    http_connections: int = 4
    open_concurrency: int = 50
    linger_s: float = 3.0
    drain_s: float = 15.0
    seed: int = 1
    metrics_token: str = ""


class SoakClient(PusherClient):
    """A PusherClient that files each ``bench.ev`` under its subscription period."""

    __slots__ = ("periods", "tally", "channel", "is_busy")

    def __init__(self, stats: Stats, host: str, key: str, offer_deflate: bool = False) -> None:
        super().__init__(stats, host, key, offer_deflate)
        self.periods: list[Period] = []
        self.tally: Tally | None = None
        self.channel = -1
        self.is_busy = False

    def _check_seq(self, data: bytes, start: int, end: int) -> None:
        seq = _int_after(data, _SEQ, start, end)
        ch = _int_after(data, _CH, start, end)
        for period in reversed(self.periods):
            if period.take(ch, seq):
                return
        if self.tally is not None:
            self.tally.outside += 1


class Soak:
    def __init__(self, cfg: SoakConfig, srv: servers.RunningServer) -> None:
        self.cfg = cfg
        self.srv = srv
        self.rng = random.Random(cfg.seed)
        self.stats = Stats()
        self.tally = Tally()
        presence = max(1, round(cfg.connections * cfg.presence_fraction / 50))
        self.names = [f"soak-{k}" for k in range(cfg.public_channels)]
        self.names += [f"presence-soak-{k}" for k in range(presence)]
        self.first_presence = cfg.public_channels
        self.members = [0] * len(self.names)
        self.ledger = Ledger(len(self.names))
        self.clients: list[SoakClient] = []
        self.retiring: list[tuple[float, SoakClient]] = []
        self.is_running = True
        self.churned = self.reconnected = self.churn_errors = self.publisher_behind = 0

    # -- subscriptions -----------------------------------------------------------------------
    def _pick(self, presence: bool) -> int:
        lo, hi = (self.first_presence, len(self.names)) if presence else (0, self.first_presence)
        a, b = self.rng.randrange(lo, hi), self.rng.randrange(lo, hi)
        return a if self.members[a] <= self.members[b] else b

    async def _subscribe(self, c: SoakClient, ch: int) -> None:
        name = self.names[ch]
        app = self.srv.app
        try:
            if ch >= self.first_presence:
                data = orjson.dumps({"user_id": f"u{c.socket_id}", "user_info": {}}).decode()
                text = f"{c.socket_id}:{name}:{data}"
                sig = hmac.new(app.secret.encode(), text.encode(), hashlib.sha256).hexdigest()
                await c.subscribe(name, f"{app.key}:{sig}", 10.0, channel_data=data)
            else:
                await c.subscribe(name, "", 10.0)
        except TimeoutError as exc:
            raise RuntimeError(f"no subscription_succeeded for {name} in 10 s") from exc
        c.channel = ch
        self.members[ch] += 1
        c.periods.append(Period(ch, self.ledger.next_seq[ch]))

    def _unsubscribe(self, c: SoakClient) -> None:
        ch = c.channel
        if ch < 0:
            return
        c.periods[-1].close(self.ledger.acked_upto(ch), time.monotonic())
        c.send(event_frame("pusher:unsubscribe", {"channel": self.names[ch]}))
        self.members[ch] -= 1
        c.channel = -1
        self._settle(c, time.monotonic() - self.cfg.linger_s)

    def _settle(self, c: SoakClient, closed_before: float) -> None:
        """File the periods that closed long enough ago for their last events to be in."""
        keep = []
        for period in c.periods:
            if period.closed_at is not None and period.closed_at <= closed_before:
                self.tally.add(period, self.ledger)
            else:
                keep.append(period)
        c.periods = keep

    async def _open(self, presence: bool) -> SoakClient:
        try:
            c = await connect(self.srv.port, self.stats, self.srv.app.key, 10.0, SoakClient)
        except TimeoutError as exc:
            raise RuntimeError("no connection_established in 10 s") from exc
        assert isinstance(c, SoakClient)
        c.tally = self.tally
        c.check_seq = True
        c.mode = MODE_COUNT
        await self._subscribe(c, self._pick(presence))
        return c

    async def open_all(self) -> None:
        n = self.cfg.connections
        presence_count = round(n * self.cfg.presence_fraction)
        sem = asyncio.Semaphore(self.cfg.open_concurrency)

        async def one(i: int) -> SoakClient:
            async with sem:
                return await self._open(presence=i < presence_count)

        self.clients = list(await asyncio.gather(*(one(i) for i in range(n))))

    # -- churn -------------------------------------------------------------------------------
    async def _switch(self, c: SoakClient) -> None:
        presence = c.channel >= self.first_presence
        self._unsubscribe(c)
        await self._subscribe(c, self._pick(presence))

    async def _reconnect(self, index: int) -> None:
        old = self.clients[index]
        presence = old.channel >= self.first_presence
        self._unsubscribe(old)
        self.retiring.append((time.monotonic() + self.cfg.linger_s, old))
        self.clients[index] = await self._open(presence)

    async def _guarded(self, c: SoakClient, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except (OSError, RuntimeError, TimeoutError) as exc:
            self.churn_errors += 1
            self.stats.error(f"churn: {type(exc).__name__}: {exc}")
        finally:
            c.is_busy = False

    def _start(self, c: SoakClient, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        # Busy from now, not from when the task first runs: one client may be drawn twice in
        # one round, and two overlapping switches would share its one pending subscribe.
        c.is_busy = True
        return asyncio.ensure_future(self._guarded(c, work))

    async def churn(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        while self.is_running:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for _due, old in [r for r in self.retiring if r[0] <= now]:
                self._settle(old, float("inf"))
                old.abort()
            self.retiring = [r for r in self.retiring if r[0] > now]
            n = len(self.clients)
            started: list[asyncio.Task[None]] = []
            for _ in range(round(n * self.cfg.churn_fraction)):
                c = self.clients[self.rng.randrange(n)]
                if not c.is_busy and c.channel >= 0:
                    self.churned += 1
                    started.append(self._start(c, self._switch(c)))
            for _ in range(round(n * self.cfg.reconnect_fraction)):
                i = self.rng.randrange(n)
                c = self.clients[i]
                if not c.is_busy and c.channel >= 0:
                    self.reconnected += 1
                    started.append(self._start(c, self._reconnect(i)))
            for task in started:
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- fan-out -----------------------------------------------------------------------------
    async def publish(self) -> None:
        idle: asyncio.Queue[HttpClient] = asyncio.Queue()
        for _ in range(self.cfg.http_connections):
            idle.put_nowait(HttpClient(self.srv.port))
        inflight: set[asyncio.Task[None]] = set()
        app = self.srv.app

        async def one(hc: HttpClient, ch: int, seq: int) -> None:
            body = orjson.dumps(
                {
                    "name": EVENT_NAME,
                    "channels": [self.names[ch]],
                    "data": f'{{"seq":{seq},"ch":{ch}}}',
                }
            )
            target = signed_target(app.app_id, app.key, app.secret, body)
            try:
                status, _ = await hc.request("POST", target, body, timeout=10.0)
            except (OSError, TimeoutError):
                status = 0
            self.ledger.resolve(ch, seq, is_accepted=status == 200)
            idle.put_nowait(hc)

        interval = 1.0 / self.cfg.trigger_rate
        next_at = time.monotonic()
        turn = 0
        while self.is_running:
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if idle.empty():
                self.publisher_behind += 1
                continue
            ch = turn % len(self.names)
            turn += 1
            task = asyncio.ensure_future(one(idle.get_nowait(), ch, self.ledger.send(ch)))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        await asyncio.gather(*inflight, return_exceptions=True)
        while not idle.empty():
            idle.get_nowait().close()


async def run_soak(cfg: SoakConfig, kind: servers.ServerKind) -> dict[str, Any]:
    srv = servers.start(kind, "soak")
    probe: asyncio.subprocess.Process | None = None
    try:
        await srv.wait_ready()
        soak = Soak(cfg, srv)
        t_open = time.monotonic()
        await soak.open_all()
        open_s = time.monotonic() - t_open
        print(f"{len(soak.clients)} connections open in {open_s:.1f}s", flush=True)
        gc.collect()
        gc.freeze()
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.soak", "--probe-port", str(srv.port),
            "--probe-key", srv.app.key, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        rtts: list[tuple[float, float]] = []

        async def read_probe() -> None:
            assert probe is not None and probe.stdout is not None
            async for line in probe.stdout:
                t, rtt = line.split()
                rtts.append((float(t), float(rtt)))

        started = time.time()
        t0 = time.monotonic()
        end = t0 + cfg.minutes * 60
        work = [
            asyncio.ensure_future(soak.publish()),
            asyncio.ensure_future(soak.churn()),
            asyncio.ensure_future(read_probe()),
        ]
        samples: list[dict[str, Any]] = []
        while time.monotonic() < end and srv.alive():
            rss, pss = srv.memory_kib()
            lag = await scrape_lag(srv.port, cfg.metrics_token)
            sample = {
                "t_s": round(time.monotonic() - t0, 2),
                "rss_kib": rss,
                "pss_kib": pss,
                "server_cpu_s": round(srv.cpu_seconds(), 2),
                "metric_lag_s": lag,
                "delivered": soak.stats.delivered,
                "alive": sum(1 for c in soak.clients if not c.lost),
            }
            samples.append(sample)
            print(
                f"t={sample['t_s']:7.1f}s rss={rss / 1024:7.1f} MiB"
                f" delivered={soak.stats.delivered} alive={sample['alive']} lag_metric={lag}"
                f" churned={soak.churned} reconnected={soak.reconnected}",
                flush=True,
            )
            await asyncio.sleep(max(0.0, min(cfg.sample_s, end - time.monotonic())))
        measured_s = time.monotonic() - t0
        delivered = soak.stats.delivered
        soak.is_running = False
        await asyncio.gather(work[0], work[1])
        await drain(soak, cfg.drain_s)
        for _, old in soak.retiring:
            soak._settle(old, float("inf"))
        for c in soak.clients:
            if c.channel >= 0:
                c.periods[-1].close(soak.ledger.acked_upto(c.channel), 0.0)
            soak._settle(c, float("inf"))
        facts = RunFacts(
            config=asdict(cfg) | {"metrics_token": "***" if cfg.metrics_token else ""},
            warmup_s=cfg.warmup_s,
            connections_open=len(soak.clients),
            open_s=open_s,
            measured_s=measured_s,
            delivered=delivered,
            started=started,
            tally=soak.tally,
            ledger=soak.ledger,
            stats=soak.stats,
            counters={
                "channel_switches": soak.churned,
                "reconnects": soak.reconnected,
                "churn_errors": soak.churn_errors,
                "publisher_behind_ticks": soak.publisher_behind,
                # Held connections that closed though we did not close them.
                "connections_lost": sum(1 for c in soak.clients if c.lost),
            },
            server_alive=srv.alive(),
        )
        return report(facts, samples, rtts)
    finally:
        if probe is not None and probe.returncode is None:
            probe.kill()
            await probe.wait()
        servers.stop(srv)


async def drain(soak: Soak, timeout_s: float) -> None:
    """Wait until deliveries stop growing for 2 s (or ``timeout_s``): the tail is in."""
    deadline = time.monotonic() + timeout_s
    last, quiet_since = soak.stats.delivered, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < 2.0:
        await asyncio.sleep(0.25)
        if soak.stats.delivered != last:
            last, quiet_since = soak.stats.delivered, time.monotonic()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d = SoakConfig()
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=d.connections)
    p.add_argument("--minutes", type=float, default=d.minutes)
    p.add_argument("--warmup-s", type=float, default=None, help="default: 10%% of the run, ≤120")
    p.add_argument("--sample-s", type=float, default=d.sample_s)
    p.add_argument("--trigger-rate", type=float, default=d.trigger_rate, help="events/s")
    p.add_argument("--public-channels", type=int, default=d.public_channels)
    p.add_argument("--presence-fraction", type=float, default=d.presence_fraction)
    p.add_argument("--churn-fraction", type=float, default=d.churn_fraction, help="per second")
    p.add_argument("--reconnect-fraction", type=float, default=d.reconnect_fraction)
    p.add_argument("--http-connections", type=int, default=d.http_connections)
    p.add_argument("--open-concurrency", type=int, default=d.open_concurrency)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--metrics-token", default="", help="bearer token for /metrics, if required")
    p.add_argument("--pusherd-arg", action="append", default=[])
    p.add_argument("--pusherd-env", action="append", default=[], help="KEY=VALUE")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--probe-port", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--probe-key", default="", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe_port is not None:
        try:
            probe_main(args.probe_port, args.probe_key, 1.0)
        except (OSError, KeyboardInterrupt):
            pass
        return 0
    from bench.run import setup_process

    notes = setup_process()  # uvloop, CPU pinning, soft file limit raised to the hard one
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    allowed = soft - 256  # the server inherits the same limit; keep room for its own files
    connections = args.connections
    if connections > allowed:
        notes.append(f"--connections {connections} > ulimit -n {soft} (hard {hard}) - 256")
        connections = allowed
    warmup = args.warmup_s if args.warmup_s is not None else min(120.0, args.minutes * 6)
    cfg = SoakConfig(
        connections=connections,
        minutes=args.minutes,
        warmup_s=warmup,
        sample_s=args.sample_s,
        trigger_rate=args.trigger_rate,
        public_channels=args.public_channels,
        presence_fraction=args.presence_fraction,
        churn_fraction=args.churn_fraction,
        reconnect_fraction=args.reconnect_fraction,
        http_connections=args.http_connections,
        open_concurrency=args.open_concurrency,
        seed=args.seed,
        metrics_token=args.metrics_token,
    )
    env = dict(item.split("=", 1) for item in args.pusherd_env)
    kind = servers.ServerKind("pusherd", servers.PUSHERD_APP, "/up", env, list(args.pusherd_arg))
    for note in notes:
        print(f"note: {note}", flush=True)
    try:
        res = asyncio.run(run_soak(cfg, kind))
    except KeyboardInterrupt:
        print("\ninterrupted; server stopped", file=sys.stderr)
        return 130
    finally:
        servers.stop_all()
    res["notes"] = notes
    print("\n== soak ==\n" + summary(res))
    out = args.out or RESULTS / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(res, option=orjson.OPT_INDENT_2))
    print(f"wrote {out}")
    return 0 if res["server_alive"] else 1


if __name__ == "__main__":
    sys.exit(main())
