"""Run the benchmark against pusherd and soketi in the same run and print ratios.

    .venv/bin/python -m bench.run            # full run (~4 min per repeat)
    .venv/bin/python -m bench.run --quick    # smoke run (< 60 s)

The servers run one at a time on CPU 0; this process (the load generator) runs on CPU 1.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import datetime as dt
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import api_scenarios, scenarios, servers
from bench.scenarios import Config

RESULTS = servers.BENCH_DIR / "results"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    better: str  # "higher" | "lower" | ""
    headline: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    size: int
    run: Callable[[servers.RunningServer, int, Config], Awaitable[dict[str, Any]]]
    metrics: tuple[Metric, ...]


_LOAD = Metric("load_cpu_pct", "load generator CPU %", "")
_LOAD_WAIT = Metric("load_wait_pct", "load generator run-queue wait %", "")
_SERVER_CPU = Metric("server_cpu_pct", "server CPU % (of one core)", "")
_SERVER_WAIT = Metric("server_wait_pct", "server run-queue wait %", "")
_CPU = (_SERVER_CPU, _SERVER_WAIT, _LOAD, _LOAD_WAIT)


def fanout_metrics(n: int) -> tuple[Metric, ...]:
    return (
        Metric("deliveries_per_s", f"fan-out to {n:,}: deliveries/s", "higher", True),
        Metric(
            "deliveries_per_server_cpu_s",
            f"fan-out to {n:,}: deliveries per server CPU-second",
            "higher",
            True,
        ),
        Metric("lost_deliveries", f"fan-out to {n:,}: lost deliveries", "lower", True),
        Metric("duplicate_deliveries", "duplicate deliveries", "lower"),
        Metric("events_per_s", "events published/s", "higher"),
        Metric("frames_per_read", "frames per read (load side)", ""),
        Metric("load_us_per_delivery", "load generator CPU µs per delivery", ""),
        *_CPU,
    )


def build_scenarios(quick: bool, memory_conns: int, pairs: int) -> list[Scenario]:
    return [
        Scenario(
            "fanout-1000",
            "Fan-out, 1,000 subscribers",
            1000,
            scenarios.fanout,
            fanout_metrics(1000),
        ),
        Scenario(
            "fanout-5000",
            "Fan-out, 5,000 subscribers",
            5000,
            scenarios.fanout,
            fanout_metrics(5000),
        ),
        Scenario(
            "latency-5000",
            "Paced latency, 5,000 subscribers, 20,000 deliveries/s",
            5000,
            scenarios.latency,
            (
                Metric("p50_ms", "latency p50 (ms) at 20k deliveries/s", "lower", True),
                Metric("p99_ms", "latency p99 (ms) at 20k deliveries/s", "lower", True),
                Metric("p999_ms", "latency p99.9 (ms)", "lower"),
                Metric("max_ms", "latency max (ms)", "lower"),
                Metric(
                    "fanout_completion_p50_ms", "whole fan-out done, per event: p50 (ms)", "lower"
                ),
                Metric(
                    "fanout_completion_max_ms", "whole fan-out done, per event: max (ms)", "lower"
                ),
                Metric(
                    "events_completed_over_2x_median",
                    "events whose fan-out took > 2x median",
                    "lower",
                ),
                Metric("deliveries_per_s", "deliveries/s achieved", ""),
                Metric("lost_deliveries", "lost deliveries", "lower"),
                *_CPU,
            ),
        ),
        Scenario(
            f"memory-{memory_conns}",
            f"Memory, {memory_conns:,} idle connections, all subscribed to one public channel",
            memory_conns,
            scenarios.memory,
            (
                Metric(
                    "kib_per_conn_rss",
                    f"KiB per idle subscribed connection (RSS, {memory_conns:,})",
                    "lower",
                    True,
                ),
                Metric("kib_per_conn_pss", "KiB per idle subscribed connection (PSS)", "lower"),
                Metric("kib_per_bare_conn_rss", "KiB per connection before subscribing", "lower"),
                Metric("kib_per_subscription_rss", "KiB per subscription", "lower"),
                Metric("rss_before_mib", "RSS before (MiB)", "lower"),
                Metric("rss_after_mib", "RSS after (MiB)", "lower"),
                Metric("connects_per_s", "connects/s (handshake + established)", "higher"),
                Metric("subscribes_per_s", "subscribes/s", "higher"),
            ),
        ),
        Scenario(
            f"client-events-{pairs}",
            f"Client-event round trips, {pairs} pairs on private channels",
            pairs,
            scenarios.client_events,
            (
                Metric(
                    "round_trips_per_s",
                    f"client-event round trips/s ({pairs} pairs)",
                    "higher",
                    True,
                ),
                Metric(
                    "round_trips_per_server_cpu_s", "round trips per server CPU-second", "higher"
                ),
                Metric("rtt_p50_ms", "round-trip time p50 (ms)", "lower", True),
                Metric("rtt_p99_ms", "round-trip time p99 (ms)", "lower"),
                Metric("stalled_pairs_restarted", "stalled pairs restarted", "lower"),
                Metric("server_errors", "error frames received", "lower"),
                *_CPU,
            ),
        ),
        *api_scenarios_for(quick),
    ]


def api_scenarios_for(quick: bool) -> list[Scenario]:
    """Issue 12's paths: set-up, reconnect storm, HTTP trigger and batch_events."""
    conns = 1000 if quick else 10_000
    trig = (
        Metric("requests_per_s", "requests/s", "higher", True),
        Metric("events_per_s", "events/s", "higher"),
        Metric("requests_per_server_cpu_s", "requests per server CPU-second", "higher"),
        Metric("latency_p50_ms", "delivery latency p50 (ms)", "lower", True),
        Metric("latency_p99_ms", "delivery latency p99 (ms)", "lower"),
        Metric("lost_deliveries", "lost deliveries", "lower"),
        *_CPU,
    )
    return [
        Scenario(
            f"connect-{conns}",
            f"Connect + subscribe, {conns:,} connections (200 handshakes in flight)",
            conns,
            api_scenarios.connect_subscribe,
            (
                Metric("connect_subscribe_per_s", "connect + subscribe/s", "higher", True),
                Metric("server_cpu_us_per_conn", "server CPU µs per connection", "lower"),
                *_CPU,
            ),
        ),
        Scenario(
            f"storm-{conns}",
            f"Reconnect storm, {conns:,} clients dropped at once, pusher-js retry after 1 s",
            conns,
            api_scenarios.reconnect_storm,
            (
                Metric("storm_s", "seconds until all resubscribed", "lower", True),
                Metric("server_cpu_s", "server CPU seconds", "lower"),
                *_CPU,
            ),
        ),
        Scenario(
            "trigger-1000",
            "HTTP trigger, one event per request, 1,000 channels",
            1,
            api_scenarios.trigger,
            trig,
        ),
        Scenario(
            "batch-10", "HTTP batch_events of 10, 1,000 channels", 10, api_scenarios.batch, trig
        ),
    ]


def quick_config() -> Config:
    return Config(
        fanout_duration=1.5,
        fanout_warmup=0.5,
        latency_duration=2.5,
        latency_warmup=0.5,
        memory_settle=0.5,
        pairs_duration=1.5,
        pairs_warmup=0.5,
        drain_timeout=5.0,
        stall_timeout=5.0,
    )


def _env_pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        out[k] = v
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="short smoke run (under a minute)")
    p.add_argument("--servers", default="pusherd,soketi", help="comma list (default both)")
    p.add_argument("--only", default="", help="comma list of scenario name prefixes to run")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each scenario this many times per server (median is reported)",
    )
    p.add_argument("--memory-connections", type=int, default=None)
    p.add_argument("--pairs", type=int, default=50)
    p.add_argument(
        "--pusherd-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for pusherd (repeatable)",
    )
    p.add_argument(
        "--pusherd-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra command-line argument for pusherd (repeatable)",
    )
    p.add_argument(
        "--py-spy",
        action="store_true",
        help="sample pusherd with py-spy during each scenario: collapsed stacks in "
        "bench/results/pyspy-<scenario>.txt, top functions in the JSON and printed "
        "(py-spy runs on the load CPU; small overhead)",
    )
    p.add_argument(
        "--pusherd-default-limits",
        action="store_true",
        help="start pusherd from PUSHERD_APP_* only (its client-event limit stays at 10/s)",
    )
    p.add_argument(
        "--soketi-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for soketi (repeatable)",
    )
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    return p.parse_args(argv)


def setup_process() -> list[str]:
    notes = []
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        notes.append("uvloop not installed: the load generator runs on the default loop")
    cpus = os.sched_getaffinity(0)
    if servers.LOAD_CPU in cpus and servers.SERVER_CPU in cpus:
        os.sched_setaffinity(0, {servers.LOAD_CPU})
    else:
        notes.append(f"CPUs {sorted(cpus)}: cannot pin server to CPU 0 and load to CPU 1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return notes


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _ratio(p: Any, s: Any) -> str:
    if not isinstance(p, int | float) or not isinstance(s, int | float) or isinstance(p, bool):
        return "—"
    if s == 0:
        return "—" if p == 0 else "∞"
    return f"{p / s:.2f}×"


def _median_result(runs: list[dict[str, Any]], metrics: tuple[Metric, ...]) -> dict[str, Any]:
    """One result per server: every numeric figure is the median over the successful runs
    (other fields come from the last one); the headline figure of each run is kept in ``runs``."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    chosen = dict(ok[-1])
    if len(runs) > 1:
        for key, value in chosen.items():
            values = [r.get(key) for r in ok]
            numbers = [
                float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            if len(numbers) == len(values):
                med = statistics.median(numbers)
                chosen[key] = round(med, 3) if isinstance(value, float) else round(med)
        key = next((m.key for m in metrics if m.headline), metrics[0].key)
        chosen["runs"] = [r.get(key, r.get("error")) for r in runs]
        chosen["median_of"] = len(ok)
    return chosen


def table(sc: Scenario, res: dict[str, dict[str, Any]], names: list[str]) -> str:
    header = ["metric", *names]
    if len(names) == 2:
        header += [f"ratio {names[0]}/{names[1]}", "better"]
    rows = [header]
    for m in sc.metrics:
        vals = [res.get(n, {}).get(m.key) for n in names]
        row = [m.label, *[_fmt(v) for v in vals]]
        if len(names) == 2:
            row += [_ratio(vals[0], vals[1]), m.better]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"== {sc.title} =="]
    for i, r in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for n in names:
        got = res.get(n, {})
        if "error" in got:
            err = str(got["error"])
            lines.append(f"  {n}: FAILED: {err.splitlines()[0] if err else ''}")
        if got.get("load_saturated") and not got.get("server_saturated"):
            lines.append(
                f"  {n}: WARNING: the load generator was saturated (CPU + wait >= 90%) and the "
                "server was not: this figure may measure the load generator"
            )
        for line in (got.get("py_spy_top") or [])[:10]:
            lines.append(f"  {n} py-spy self time: {line}")
        for e in (got.get("errors") or [])[:3]:
            lines.append(f"  {n}: {e}")
    return "\n".join(lines)


def bar_checks(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The issue's bar: fan-out at 5,000 >= 1.2x soketi with no loss; p50 <= soketi; p99 <= 1.5x;
    memory per idle connection <= 2x."""
    out = []

    def get(scn: str, name: str, key: str) -> float | None:
        v = results.get(scn, {}).get(name, {}).get(key)
        return float(v) if isinstance(v, int | float) else None

    def check(label: str, ok: bool | None) -> None:
        out.append(f"  [{'PASS' if ok else 'n/a ' if ok is None else 'FAIL'}] {label}")

    fp, fs = (
        get("fanout-5000", "pusherd", "deliveries_per_s"),
        get("fanout-5000", "soketi", "deliveries_per_s"),
    )
    lost = get("fanout-5000", "pusherd", "lost_deliveries")
    check(
        "fan-out 5,000: pusherd >= 1.2x soketi deliveries/s, no lost message",
        None if fp is None or fs is None else (fp >= 1.2 * fs and lost == 0),
    )
    for key, factor, label in (("p50_ms", 1.0, "p50 <= soketi"), ("p99_ms", 1.5, "p99 <= 1.5x")):
        a, b = get("latency-5000", "pusherd", key), get("latency-5000", "soketi", key)
        check(
            f"latency 5,000 @ 20k/s: {label}", None if a is None or b is None else a <= factor * b
        )
    mem = next((k for k in results if k.startswith("memory-")), "")
    a, b = get(mem, "pusherd", "kib_per_conn_rss"), get(mem, "soketi", "kib_per_conn_rss")
    check(
        "memory per idle connection <= 2x soketi (RSS)",
        None if a is None or b is None else a <= 2 * b,
    )
    return out


def bar_checks_issue12(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Issue 12's bar, each a ratio pusherd/soketi of this run's medians."""
    out = []

    def ratio(prefix: str, key: str) -> float | None:
        scn = next((k for k in results if k.startswith(prefix)), "")
        p = results.get(scn, {}).get("pusherd", {}).get(key)
        s = results.get(scn, {}).get("soketi", {}).get(key)
        ok = isinstance(p, int | float) and isinstance(s, int | float) and s
        return float(p) / float(s) if ok else None  # type: ignore[arg-type]

    for prefix, key, label, at_least, bound in (
        ("connect-", "connect_subscribe_per_s", "connect + subscribe/s", True, 1.0),
        ("storm-", "storm_s", "reconnect storm: time until all resubscribed", False, 1.0),
        ("trigger-", "requests_per_s", "HTTP trigger requests/s", True, 1.2),
        ("trigger-", "latency_p50_ms", "HTTP trigger delivery latency p50", False, 1.0),
        ("batch-", "requests_per_s", "batch_events requests/s", True, 1.2),
        ("client-events-", "round_trips_per_s", "client-event round trips/s", True, 1.2),
        ("client-events-", "rtt_p50_ms", "client-event RTT p50", False, 1.0),
        ("fanout-5000", "deliveries_per_s", "fan-out 5,000 deliveries/s", True, 1.4),
        ("memory-", "kib_per_conn_rss", "memory per idle connection", False, 0.7),
    ):
        r = ratio(prefix, key)
        sign = ">=" if at_least else "<="
        verdict = (
            "n/a " if r is None else "PASS" if (r >= bound if at_least else r <= bound) else "FAIL"
        )
        shown = "—" if r is None else f"{r:.2f}x"
        out.append(f"  [{verdict}] {label}: {shown} (bar {sign} {bound}x)")
    return out


def markdown(
    scs: list[Scenario],
    results: dict[str, dict[str, dict[str, Any]]],
    names: list[str],
    meta: dict[str, Any],
) -> str:
    lines = [
        f"Benchmark ({meta['date']}, {meta['mode']} run; server pinned to CPU 0, load generator "
        "to CPU 1; `python -m bench.run`):",
        "",
        f"| Measurement | {' | '.join(names)} | ratio {'/'.join(names)} | better |",
        f"|---|{'---:|' * len(names)}---:|---|",
    ]
    for sc in scs:
        res = results.get(sc.name, {})
        for m in sc.metrics:
            if not m.headline:
                continue
            vals = [res.get(n, {}).get(m.key) for n in names]
            ratio = _ratio(vals[0], vals[1]) if len(vals) == 2 else "—"
            lines.append(
                f"| {m.label} | {' | '.join(_fmt(v) for v in vals)} | {ratio} | {m.better} |"
            )
    return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    try:
        out["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out["node"] = "?"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        out["cpu"] = cpu
    except (OSError, StopIteration):
        pass
    out["soketi"] = "1.6.1"
    return out


class Interrupted:
    """First SIGINT/SIGTERM/SIGHUP: cancel the run (servers are stopped on the way out) and
    skip every remaining scenario. Second one: stop the servers and exit at once."""

    def __init__(self) -> None:
        self.signal: str | None = None
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.signal is not None:
            servers.stop_all()
            os._exit(130)
        self.signal = sig.name
        print(f"\n{sig.name}: stopping (again to force)", file=sys.stderr, flush=True)
        if self._task is not None:
            self._task.cancel()


async def run(args: argparse.Namespace, notes: list[str]) -> int:
    interrupted = Interrupted()
    cfg = quick_config() if args.quick else Config()
    memory_conns = args.memory_connections or (1000 if args.quick else 10_000)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if memory_conns + 200 > soft:
        memory_conns = soft - 200
        notes.append(f"open-file limit {soft}: memory scenario uses {memory_conns} connections")
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    kinds = {
        "pusherd": servers.ServerKind(
            "pusherd",
            servers.PUSHERD_APP,
            "/up",
            _env_pairs(args.pusherd_env),
            list(args.pusherd_arg),
            apps_file=not args.pusherd_default_limits,
        ),
        "soketi": servers.ServerKind(
            "soketi", servers.SOKETI_APP, "/ready", _env_pairs(args.soketi_env)
        ),
    }
    for n in names:
        if n not in kinds:
            raise SystemExit(f"unknown server {n!r} (pusherd, soketi)")
    if "soketi" in names:
        servers.ensure_soketi()
    scs = build_scenarios(args.quick, memory_conns, args.pairs)
    if args.only:
        prefixes = [p.strip() for p in args.only.split(",")]
        scs = [s for s in scs if any(s.name.startswith(p) for p in prefixes)]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    unavailable: dict[str, str] = {}
    started = time.monotonic()
    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "versions": _versions(),
        "config": asdict(cfg),
        "memory_connections": memory_conns,
        "pairs": args.pairs,
        "repeat": args.repeat,
        "server_cpu": servers.SERVER_CPU,
        "load_cpu": servers.LOAD_CPU,
        "soketi_env": servers.SOKETI_ENV | _env_pairs(args.soketi_env),
        "pusherd_env": _env_pairs(args.pusherd_env),
        "notes": notes,
    }
    for i, sc in enumerate(scs):
        order = names if i % 2 == 0 else names[::-1]
        runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for rep in range(args.repeat):
            for n in order if rep % 2 == 0 else order[::-1]:
                if interrupted.signal is not None:
                    raise KeyboardInterrupt(interrupted.signal)
                if n in unavailable:
                    runs[n].append({"error": unavailable[n]})
                    continue
                label = f"{sc.name}-{rep}"
                print(f"[{time.monotonic() - started:6.1f}s] {sc.name} on {n} ...", flush=True)
                t_start = time.monotonic()
                srv = servers.start(kinds[n], label)
                try:
                    try:
                        await srv.wait_ready(30.0 if n == "pusherd" else 60.0)
                        ready_s = time.monotonic() - t_start
                    except servers.ServerError as exc:
                        unavailable[n] = f"{n} did not start: {exc}"
                        runs[n].append({"error": unavailable[n]})
                        print(f"  {unavailable[n]}", flush=True)
                        continue
                    spy = (
                        servers.start_py_spy(srv, label) if args.py_spy and n == "pusherd" else None
                    )
                    t_run = time.monotonic()
                    try:
                        res = await sc.run(srv, sc.size, cfg)
                    except Exception as exc:  # noqa: BLE001 - report and go on
                        res = {
                            "error": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc(limit=5),
                        }
                        print(f"  failed: {res['error']}", flush=True)
                    if spy is not None:
                        res["py_spy"] = servers.stop_py_spy(spy)
                        res["py_spy_top"] = servers.py_spy_top(res["py_spy"])
                    if not srv.alive():
                        res["server_died"] = f"exit code {srv.proc.returncode}"
                        res.setdefault("error", f"{n} died: {srv.log_tail(5)}")
                    res["server_ready_s"] = round(ready_s, 2)
                    res["scenario_s"] = round(time.monotonic() - t_run, 2)
                    runs[n].append(res)
                finally:
                    t_stop = time.monotonic()
                    servers.stop(srv)
                    if runs[n] and "server_stop_s" not in runs[n][-1]:
                        runs[n][-1]["server_stop_s"] = round(time.monotonic() - t_stop, 2)
                await asyncio.sleep(0.2)
        results[sc.name] = {n: _median_result(runs[n], sc.metrics) for n in names}
        print(table(sc, results[sc.name], names) + "\n", flush=True)

    meta["elapsed_s"] = round(time.monotonic() - started, 1)
    print("== Summary ==")
    md = markdown(scs, results, names, meta)
    print(md)
    if names == ["pusherd", "soketi"]:
        print("The bar (issue 3):")
        print("\n".join(bar_checks(results)))
        print("The bar (issue 12):")
        print("\n".join(bar_checks_issue12(results)))
    for note in notes:
        print(f"note: {note}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(
        orjson.dumps({"meta": meta, "results": results}, option=orjson.OPT_INDENT_2)
    )
    md_path = args.out.with_suffix(".md")
    md_path.write_text(md)
    print(f"\nwrote {args.out} and {md_path} ({meta['elapsed_s']}s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    notes = setup_process()
    atexit.register(servers.stop_all)
    try:
        return asyncio.run(run(args, notes))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        servers.stop_all()


if __name__ == "__main__":
    sys.exit(main())
