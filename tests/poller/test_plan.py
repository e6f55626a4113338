from __future__ import annotations

from typing import Any

import pytest

from poller.plan import DEFAULT_CADENCES, PlanInput, plan_next

FOOT = DEFAULT_CADENCES["football"]


def inp(**kw: Any) -> PlanInput:
    base: dict[str, Any] = dict(
        now=0.0,
        live_count=0,
        is_closing=False,
        next_kickoff=None,
        expected_live_s=0.0,
        usable_calls=7_000,
        seconds_to_reset=86_400.0,
    )
    base.update(kw)
    return PlanInput(**base)


@pytest.mark.parametrize(
    ("sport", "live", "closing", "interval"),
    [
        ("football", 1, False, 15),
        ("football", 50, True, 10),
        ("basketball", 3, False, 8),
        ("basketball", 3, True, 5),
        ("baseball", 2, False, 45),
        ("baseball", 2, True, 30),
    ],
)
def test_paid_plan_gets_the_wanted_cadence(
    sport: str, live: int, closing: bool, interval: float
) -> None:
    plan = plan_next(
        DEFAULT_CADENCES[sport], inp(live_count=live, is_closing=closing, expected_live_s=7_200)
    )
    assert plan.interval_s == interval


def test_cadence_does_not_depend_on_how_many_matches_are_live() -> None:
    ten = plan_next(FOOT, inp(live_count=10, expected_live_s=7_200))
    fifty = plan_next(FOOT, inp(live_count=50, expected_live_s=7_200))
    assert ten == fifty


def test_idle_and_prestart() -> None:
    assert plan_next(FOOT, inp()).interval_s == 900
    soon = plan_next(FOOT, inp(next_kickoff=600.0))
    assert (soon.interval_s, soon.reason) == (60, "kick-off soon")
    later = plan_next(FOOT, inp(next_kickoff=1_200.0))
    assert later.interval_s == 300 and later.reason == "wake before kick-off"


def test_free_plan_spreads_the_budget_and_slows_as_it_shrinks() -> None:
    full = plan_next(FOOT, inp(live_count=2, expected_live_s=14_400, usable_calls=95))
    low = plan_next(FOOT, inp(live_count=2, expected_live_s=14_400, usable_calls=20))
    assert full.interval_s > 15 and low.interval_s > full.interval_s
    assert full.budget_floor_s == full.interval_s


def test_reserve_reached_waits_for_the_reset() -> None:
    plan = plan_next(FOOT, inp(live_count=5, usable_calls=0, seconds_to_reset=3_000.0))
    assert plan.interval_s == 3_001 and plan.reason == "quota reserve reached"
