from __future__ import annotations

import time

from auth.clock import Clock, SystemClock


def test_system_clock_reads_both_clocks() -> None:
    clock: Clock = SystemClock()
    assert abs(clock.time() - time.time()) < 5
    first = clock.monotonic()
    assert clock.monotonic() >= first
