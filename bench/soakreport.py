"""The soak's result (:mod:`bench.soak`): figures from the samples and the delivery tally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.soakstats import Ledger, Tally, least_squares_slope, percentiles
from bench.wsclient import Stats

__all__ = ["RunFacts", "report", "summary"]


@dataclass
class RunFacts:
    """What the run knew at its end, beside the samples."""

    config: dict[str, Any]
    warmup_s: float
    connections_open: int
    open_s: float
    measured_s: float
    delivered: int
    started: float  # Unix time when the measurement began (the probe's clock)
    tally: Tally
    ledger: Ledger
    stats: Stats
    counters: dict[str, int]  # channel_switches, reconnects, churn_errors, publisher_behind
    server_alive: bool


def report(
    facts: RunFacts, samples: list[dict[str, Any]], rtts: list[tuple[float, float]]
) -> dict[str, Any]:
    """The result: RSS slope (MiB/hour, least squares after the warm-up), loop lag p50/p99/max
    from both probes, deliveries/s and the delivery tally."""
    warmup_s, started, measured_s = facts.warmup_s, facts.started, facts.measured_s
    steady = [s for s in samples if s["t_s"] >= warmup_s]
    slope = least_squares_slope(
        [s["t_s"] / 3600 for s in steady], [s["rss_kib"] / 1024 for s in steady]
    )
    rss = [s["rss_kib"] / 1024 for s in samples]
    ping_ms = [rtt * 1000 for t, rtt in rtts if warmup_s <= t - started <= measured_s]
    metric_ms = [s["metric_lag_s"] * 1000 for s in steady if s["metric_lag_s"] is not None]
    tally, ledger, counters = facts.tally, facts.ledger, facts.counters
    return {
        "config": facts.config,
        "connections_open": facts.connections_open,
        "open_s": round(facts.open_s, 1),
        "measured_s": round(measured_s, 1),
        "rss_slope_mib_per_hour": None if slope is None else round(slope, 2),
        "rss_mib": {
            "first": round(rss[0], 1) if rss else None,
            "after_warmup": round(steady[0]["rss_kib"] / 1024, 1) if steady else None,
            "last": round(rss[-1], 1) if rss else None,
            "max": round(max(rss), 1) if rss else None,
        },
        "loop_lag_ping_rtt_ms": percentiles(ping_ms),
        "loop_lag_metric_ms": percentiles(metric_ms) if metric_ms else "metric absent",
        "deliveries_per_s": round(facts.delivered / measured_s, 1) if measured_s else 0.0,
        "deliveries_expected": tally.expected,
        "deliveries_lost": tally.lost,
        "deliveries_duplicated": tally.duplicates,
        "deliveries_outside_periods": tally.outside,
        "periods_checked": tally.periods,
        "triggers_accepted": ledger.accepted,
        "triggers_failed": sum(len(f) for f in ledger.failed),
        **counters,
        "close_codes": {str(code): n for code, n in facts.stats.close_codes.items()},
        "errors": facts.stats.errors[:10],
        "server_alive": facts.server_alive,
        "samples": samples,
    }


def _fmt_p(p: dict[str, Any] | str) -> str:
    if isinstance(p, str) or p["p50"] is None:
        return str(p if isinstance(p, str) else "no samples")
    return f"p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms, max {p['max']:.2f} ms (n={p['count']})"


def summary(res: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"connections held       {res['connections_open']} (opened in {res['open_s']} s)",
            f"measured               {res['measured_s']} s",
            f"RSS slope              {res['rss_slope_mib_per_hour']} MiB/hour (after warm-up)",
            f"RSS MiB                {res['rss_mib']}",
            f"loop lag (ping RTT)    {_fmt_p(res['loop_lag_ping_rtt_ms'])}",
            f"loop lag (/metrics)    {_fmt_p(res['loop_lag_metric_ms'])}",
            f"deliveries/s           {res['deliveries_per_s']}",
            f"lost deliveries        {res['deliveries_lost']} of {res['deliveries_expected']}"
            f" checked (duplicates {res['deliveries_duplicated']},"
            f" outside periods {res['deliveries_outside_periods']})",
            f"triggers               {res['triggers_accepted']} accepted,"
            f" {res['triggers_failed']} failed, {res['publisher_behind_ticks']} ticks behind",
            f"churn                  {res['channel_switches']} switches,"
            f" {res['reconnects']} reconnects, {res['churn_errors']} errors"
            f" ({res['connections_lost']} connections lost without a reconnect)",
            f"close codes from server {res['close_codes']}",
            f"server alive           {res['server_alive']}",
        ]
    )
