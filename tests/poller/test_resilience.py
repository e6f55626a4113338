from __future__ import annotations

import random

import pytest

from poller.resilience import Backoff, BreakerState, CircuitBreaker, QuotaBudget, TokenBucket

DAY = 86_400.0


def state(breaker: CircuitBreaker) -> BreakerState:
    """Read through a call, so mypy does not narrow the attribute between assertions."""
    return breaker.state


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    backoff = Backoff(rng=random.Random(1), base_s=1, max_s=60)
    for attempt, step in [(0, 1), (1, 2), (3, 8), (10, 60)]:
        delay = backoff.delay(attempt)
        assert step / 2 <= delay <= step


def test_backoff_is_reproducible_with_the_same_seed() -> None:
    a = [Backoff(rng=random.Random(7)).delay(i) for i in range(5)]
    b = [Backoff(rng=random.Random(7)).delay(i) for i in range(5)]
    assert a == b


def test_breaker_opens_after_threshold_probes_and_recovers() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=30, max_reset_timeout_s=100)
    for now in (0, 1, 2):
        assert breaker.allow(now)
        breaker.record_failure(now)
    assert state(breaker) is BreakerState.OPEN and not breaker.allow(20)
    assert breaker.allow(32)
    assert state(breaker) is BreakerState.HALF_OPEN
    assert not breaker.allow(32)  # only one probe
    breaker.record_failure(32)
    assert state(breaker) is BreakerState.OPEN and breaker.retry_at() == 92  # timeout doubled
    assert breaker.allow(92)
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED and breaker.allow(93)


def test_breaker_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2)
    breaker.record_failure(0)
    breaker.record_success()
    breaker.record_failure(1)
    assert state(breaker) is BreakerState.CLOSED


def test_token_bucket_limits_bursts_and_refills() -> None:
    bucket = TokenBucket(rate_per_s=10 / 60, capacity=2, now=0)
    assert bucket.try_take(0) and bucket.try_take(0) and not bucket.try_take(0)
    assert bucket.wait_s(0) == pytest.approx(6)
    assert bucket.try_take(6)
    bucket.drain(7)
    assert not bucket.try_take(7)


def test_quota_budget_counts_reads_headers_and_resets_at_midnight_utc() -> None:
    budget = QuotaBudget(daily_limit=100, reserve=5)
    now = 10 * DAY + 3600
    budget.spend(now)
    assert budget.remaining(now) == 99 and budget.usable(now) == 94
    budget.observe(remaining=40, limit=100, now=now)  # another client shares the key
    assert budget.remaining(now) == 40
    budget.spend(now)
    assert budget.remaining(now) == 39
    assert budget.seconds_to_reset(now) == DAY - 3600
    budget.block_until_reset(now)
    assert budget.remaining(now) == 0
    assert budget.remaining(11 * DAY) == 100
