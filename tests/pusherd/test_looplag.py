"""Event-loop lag: a stall of the loop is measured and kept (issue 10, "keep them fixed")."""

from __future__ import annotations

import asyncio
import time

from pusherd.clock import FakeClock, SystemClock
from pusherd.looplag import LAG_BUCKETS_S, LoopLagMonitor


def test_observe_keeps_last_worst_sum_and_buckets() -> None:
    monitor = LoopLagMonitor(clock=FakeClock(), buckets_s=(0.01, 0.1, 1.0))
    for lag in (0.002, -0.5, 0.05, 3.0, 0.02):
        monitor.observe(lag)
    assert monitor.last_s == 0.02
    assert monitor.max_s == 3.0
    assert monitor.sum_s == 0.002 + 0.0 + 0.05 + 3.0 + 0.02
    # Per bucket: ≤0.01 (0.002, clamped 0), ≤0.1 (0.05, 0.02), ≤1, above every bound (3.0).
    assert monitor.bucket_counts == [2, 2, 0, 1]
    assert monitor.count == 5


async def test_lag_is_read_from_the_injected_clock() -> None:
    """The clock says 2 s passed during a 10 ms sleep: 1.99 s late."""
    clock = FakeClock()
    monitor = LoopLagMonitor(clock=clock, interval_s=0.01)
    await monitor.start()
    try:
        await asyncio.sleep(0)  # the monitor reads its due time, then sleeps
        clock.advance(2.0)
        while monitor.count == 0:
            await asyncio.sleep(0.005)
    finally:
        await monitor.stop()
    assert 1.98 <= monitor.last_s <= 1.99 + 1e-9


async def test_a_blocked_loop_shows_up_as_lag() -> None:
    monitor = LoopLagMonitor(clock=SystemClock(), interval_s=0.02)
    await monitor.start()
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # the stall under test: a handler holding the loop
        await asyncio.sleep(0.05)
    finally:
        await monitor.stop()
    assert monitor.max_s >= 0.25
    # Counted in a bucket above 0.25 s, so the histogram keeps it after later quiet samples.
    assert sum(monitor.bucket_counts[LAG_BUCKETS_S.index(0.25) + 1 :]) >= 1
