"""``--workers 2`` against ``--workers 1`` (issue 14's bar): memory per connection, fan-out
deliveries per server CPU-second, and the added trigger-to-receive latency of the Redis hop.

    .venv/bin/python -m bench.workers [--connections 2000] [--subscribers 1000]

Three servers in turn, each a fresh process tree, none pinned to a CPU (two workers need both
cores): one worker on the memory adapter (what a single process runs by default), one worker on
the Redis adapter, and two workers on the Redis adapter. The scenarios are those of
``bench.scenarios`` (same load generator, same figures); CPU is the whole process tree's (the
supervisor and every worker). Writes ``bench/results/workers.json`` and prints a Markdown table.
The machine's load average is printed with it: on a shared machine the figures move.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import redis

from bench import scenarios, servers
from bench.servers import PUSHERD_APP, ServerKind

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class UnpinnedKind(ServerKind):
    """pusherd without the ``taskset`` pin of the soketi comparison."""

    def command(self, port: int) -> tuple[list[str], dict[str, str], Path]:
        argv, env, cwd = super().command(port)
        assert argv[0] == "taskset"
        return argv[3:], env, cwd


def kinds(prefix: str) -> list[tuple[str, UnpinnedKind]]:
    redis = {
        "PUSHERD_ADAPTER": "redis",
        "PUSHERD_REDIS_URL": "redis://127.0.0.1:6379/0",
        "PUSHERD_REDIS_PREFIX": prefix,
        "PUSHERD_LARAVEL_REDIS_PREFIX": "off",
    }
    quiet = ["--log-level", "warning"]
    return [
        ("1 worker, memory", UnpinnedKind("pusherd", PUSHERD_APP, "/up", extra_args=quiet)),
        (
            "1 worker, redis",
            UnpinnedKind("pusherd", PUSHERD_APP, "/up", extra_env=redis, extra_args=quiet),
        ),
        (
            "2 workers, redis",
            UnpinnedKind(
                "pusherd",
                PUSHERD_APP,
                "/up",
                extra_env=redis,
                extra_args=[*quiet, "--workers", "2"],
            ),
        ),
    ]


async def run(
    connections: int, subscribers: int, latency_subscribers: int, prefix: str
) -> dict[str, Any]:
    cfg = replace(
        scenarios.Config(),
        fanout_duration=10.0,
        latency_duration=10.0,
        latency_deliveries_per_s=2_000,
    )
    results: dict[str, Any] = {"load_average_before": os.getloadavg()}
    for label, kind in kinds(prefix):
        srv = servers.start(kind, label.replace(" ", "").replace(",", "-"))
        try:
            await srv.wait_ready()
            await asyncio.sleep(1.0)  # let every worker bind
            row = {
                "memory": await scenarios.memory(srv, connections, cfg),
                "fanout": await scenarios.fanout(srv, subscribers, cfg),
                "latency": await scenarios.latency(srv, latency_subscribers, cfg),
                "load_average": os.getloadavg(),
            }
            results[label] = row
        finally:
            servers.stop(srv)
    return results


def table(results: dict[str, Any]) -> str:
    base = results["1 worker, memory"]
    lines = [
        "| server | KiB/conn (RSS) | ×1w | deliveries / server CPU-s | ×1w | p50 trigger→receive"
        " | added p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in ("1 worker, memory", "1 worker, redis", "2 workers, redis"):
        row = results[label]
        kib = row["memory"]["kib_per_conn_rss"]
        per_cpu = row["fanout"]["deliveries_per_server_cpu_s"]
        p50 = row["latency"]["p50_ms"]
        lines.append(
            f"| {label} | {kib} | {kib / base['memory']['kib_per_conn_rss']:.2f} | {per_cpu} | "
            f"{per_cpu / base['fanout']['deliveries_per_server_cpu_s']:.2f} | {p50} ms | "
            f"{p50 - base['latency']['p50_ms']:+.3f} ms |"
        )
    loads = [results["load_average_before"]] + [
        results[k]["load_average"] for k in results if k != "load_average_before"
    ]
    lines.append("")
    lines.append(
        "load average (1, 5, 15 min) before and after each server: "
        + "; ".join(", ".join(f"{v:.1f}" for v in load) for load in loads)
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("--connections", type=int, default=2_000)
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--latency-subscribers", type=int, default=100)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65_536), hard))
    prefix = f"bench:{uuid.uuid4().hex}:"
    try:
        results = asyncio.run(
            run(args.connections, args.subscribers, args.latency_subscribers, prefix)
        )
    finally:
        servers.stop_all()
        client = redis.Redis()
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "workers.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(results))


if __name__ == "__main__":
    main()
