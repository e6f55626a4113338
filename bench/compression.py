"""permessage-deflate on vs off, on pusherd alone: fan-out and bytes per delivery.

    .venv/bin/python -m bench.compression               # 5,000 subscribers, 2 runs of each
    .venv/bin/python -m bench.compression --quick       # 1,000 subscribers, short windows

The same fan-out scenario as ``bench.run`` (``fanout``), with events shaped like the poller's
compact ``match.update`` (``bench.publisher.match_update_data``: about 400 bytes a frame, over
the 256-byte threshold). "on": every subscriber offers ``permessage-deflate;
client_max_window_bits`` as Chromium does; "off": none offers it. Runs alternate (on, off, off,
on, ...), each on a fresh server pinned to CPU 0; every figure is the median over the runs, and
the ratios are on/off of those medians. Bytes per delivery are the WebSocket bytes the
subscribers read (frame headers included, TCP/IP headers not) divided by the deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from dataclasses import replace
from typing import Any

from bench import scenarios, servers
from bench.run import quick_config, setup_process

_FIGURES = (
    ("deliveries_per_s", "fan-out deliveries/s"),
    ("deliveries_per_server_cpu_s", "deliveries per server CPU-second"),
    ("bytes_per_delivery", "bytes per delivery (WebSocket frame)"),
    ("lost_deliveries", "lost deliveries"),
    ("subscribers_deflate", "subscribers that negotiated deflate"),
    ("server_cpu_pct", "server CPU %"),
    ("server_wait_pct", "server run-queue wait %"),
    ("load_cpu_pct", "load generator CPU %"),
)


async def _one(subscribers: int, cfg: scenarios.Config, label: str) -> dict[str, Any]:
    kind = servers.ServerKind("pusherd", servers.PUSHERD_APP, "/up")
    srv = servers.start(kind, label)
    try:
        await srv.wait_ready(30.0)
        return await scenarios.fanout(srv, subscribers, cfg)
    finally:
        servers.stop(srv)


async def run(args: argparse.Namespace) -> int:
    base = quick_config() if args.quick else scenarios.Config()
    base = replace(base, match_update_events=True)
    subscribers = args.subscribers or (1000 if args.quick else 5000)
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    for rep in range(args.repeat):
        order = ("on", "off") if rep % 2 == 0 else ("off", "on")
        for mode in order:
            cfg = replace(base, offer_deflate=mode == "on")
            print(f"run {rep} deflate {mode} (load {os.getloadavg()[0]:.2f}) ...", flush=True)
            runs[mode].append(await _one(subscribers, cfg, f"deflate-{mode}-{rep}"))
    med = {
        mode: {key: statistics.median(float(r.get(key, 0)) for r in rs) for key, _ in _FIGURES}
        for mode, rs in runs.items()
    }
    print(f"\n== Fan-out to {subscribers:,}, match.update events, deflate on vs off ==")
    print(f"{'metric':40} {'on':>12} {'off':>12} {'on/off':>8}")
    for key, label in _FIGURES:
        on, off = med["on"][key], med["off"][key]
        ratio = f"{on / off:.2f}x" if off else "-"
        print(f"{label:40} {on:12,.1f} {off:12,.1f} {ratio:>8}")
    for mode, rs in runs.items():
        print(f"  {mode}: deliveries/s per run {[r.get('deliveries_per_s') for r in rs]}")
        for r in rs:
            for err in (r.get("errors") or [])[:3]:
                print(f"  {mode}: {err}")
    print(f"load average after: {os.getloadavg()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compression", description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--subscribers", type=int, default=None)
    args = p.parse_args(argv)
    for note in setup_process():
        print(f"note: {note}")
    try:
        return asyncio.run(run(args))
    finally:
        servers.stop_all()


if __name__ == "__main__":
    sys.exit(main())
