"""The admission gate: at most the remaining budget in flight, the rest wait for an outcome."""

from __future__ import annotations

import asyncio

from auth.admission import AdmissionGate
from auth.ratelimit import Admission, FailureLimiter, FailureLimits
from tests.auth.conftest import FakeClock


def test_admission_reserves_and_release_settles() -> None:
    limiter = FailureLimiter(FailureLimits(max_failures=2, window_s=60))
    assert limiter.admit("a", now=0) is Admission.GRANTED
    assert limiter.admit("a", now=0) is Admission.GRANTED
    assert limiter.admit("a", now=0) is Admission.WAIT  # budget held, not spent
    limiter.release("a", now=0, is_failure=False)
    assert limiter.admit("a", now=0) is Admission.GRANTED
    limiter.release("a", now=0, is_failure=True)
    limiter.release("a", now=0, is_failure=True)
    assert limiter.admit("a", now=0) is Admission.REFUSED
    assert limiter.retry_after("a", now=0) > 0


async def test_waiters_follow_successes_and_learn_of_failures(clock: FakeClock) -> None:
    gate = AdmissionGate(
        limiter=FailureLimiter(FailureLimits(max_failures=2, window_s=60)), clock=clock
    )
    assert await gate.enter("a") and await gate.enter("a")
    third = asyncio.ensure_future(gate.enter("a"))
    fourth = asyncio.ensure_future(gate.enter("a"))
    await asyncio.sleep(0)
    assert gate.waiting("a") == 2 and not third.done()
    gate.leave("a", is_failure=False)  # a success: the next waiter runs
    assert await third is True
    gate.leave("a", is_failure=True)
    gate.leave("a", is_failure=True)  # budget spent: the last waiter is refused
    assert await fourth is False
    assert gate.waiting("a") == 0


async def test_a_cancelled_waiter_passes_its_turn_on(clock: FakeClock) -> None:
    gate = AdmissionGate(
        limiter=FailureLimiter(FailureLimits(max_failures=1, window_s=60)), clock=clock
    )
    assert await gate.enter("a")
    second = asyncio.ensure_future(gate.enter("a"))
    third = asyncio.ensure_future(gate.enter("a"))
    await asyncio.sleep(0)
    second.cancel()
    gate.leave("a", is_failure=False)
    assert await asyncio.wait_for(third, 1.0) is True
