from __future__ import annotations

import pytest

from auth.ratelimit import FailureLimiter, FailureLimits


def test_budget_of_failures_then_refusal_with_the_wait() -> None:
    limiter = FailureLimiter(FailureLimits(max_failures=3, window_s=60))
    for _ in range(3):
        assert limiter.retry_after("1.2.3.4", now=0) == 0
        limiter.record_failure("1.2.3.4", now=0)
    assert limiter.retry_after("1.2.3.4", now=0) == pytest.approx(20.0)
    assert limiter.retry_after("5.6.7.8", now=0) == 0


def test_the_budget_refills_over_the_window() -> None:
    limiter = FailureLimiter(FailureLimits(max_failures=3, window_s=60))
    for _ in range(3):
        limiter.record_failure("a", now=0)
    assert limiter.retry_after("a", now=19.9) > 0
    assert limiter.retry_after("a", now=20.0) == 0


def test_tracked_subjects_are_bounded() -> None:
    limiter = FailureLimiter(FailureLimits(max_failures=2, window_s=10, max_subjects=4))
    for index in range(10):
        limiter.record_failure(f"s{index}", now=float(index))
    assert len(limiter) <= 4
    # The newest subject is still limited as recorded.
    limiter.record_failure("s9", now=9.0)
    assert limiter.retry_after("s9", now=9.0) > 0


def test_idle_subjects_are_evicted_before_busy_ones() -> None:
    limiter = FailureLimiter(FailureLimits(max_failures=1, window_s=10, max_subjects=2))
    limiter.record_failure("old", now=0)
    limiter.record_failure("busy", now=100)
    limiter.record_failure("new", now=100)
    assert limiter.retry_after("busy", now=100) > 0
    assert limiter.retry_after("new", now=100) > 0
