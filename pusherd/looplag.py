"""Event-loop lag: how late a scheduled wake-up fires (issue 10, "keep them fixed").

One coroutine sleeps ``interval_s`` at a time and records how much later than asked it woke. A
handler that holds the loop (a quadratic parse, a blocking call) shows up here as lag, while
every socket of the node is frozen: ``pusherd_event_loop_lag_seconds`` on ``/metrics`` makes such
a stall visible in production, and the soak benchmark reads the same metric.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Sequence

from pusherd.clock import Clock

__all__ = ["LAG_BUCKETS_S", "LoopLagMonitor"]

#: Upper bounds of the histogram's buckets, in seconds (+Inf is implied).
LAG_BUCKETS_S: tuple[float, ...] = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class LoopLagMonitor:
    """Samples the loop's lag every ``interval_s``; the last value, the worst and a histogram."""

    def __init__(
        self,
        *,
        clock: Clock,
        interval_s: float = 0.5,
        buckets_s: Sequence[float] = LAG_BUCKETS_S,
    ) -> None:
        self._clock = clock
        self.interval_s = interval_s
        self.buckets_s = tuple(buckets_s)
        #: Lag of the latest wake-up, seconds.
        self.last_s = 0.0
        self.max_s = 0.0
        self.sum_s = 0.0
        #: Samples per bucket (not cumulative); the last entry counts those above every bound.
        self.bucket_counts = [0] * (len(self.buckets_s) + 1)
        self._task: asyncio.Task[None] | None = None

    @property
    def count(self) -> int:
        return sum(self.bucket_counts)

    def observe(self, lag_s: float) -> None:
        lag_s = max(0.0, lag_s)
        self.last_s = lag_s
        self.max_s = max(self.max_s, lag_s)
        self.sum_s += lag_s
        self.bucket_counts[bisect.bisect_left(self.buckets_s, lag_s)] += 1

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            due = self._clock.monotonic() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.observe(self._clock.monotonic() - due)
