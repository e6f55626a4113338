"""The reference-data plan: spare quota only, live first, cadences by kind (pure, injected now)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from poller.plan import DEFAULT_CADENCES, PlanInput, live_demand
from poller.refplan import (
    LeagueFacts,
    RefKind,
    Refresh,
    RefreshCadence,
    RefreshInput,
    plan_refresh,
    spare_calls,
)

CAD = RefreshCadence()
NOW = 100_000.0
H = 3600.0
LG = 90010
S = RefKind.STANDINGS, LG
T = RefKind.TEAMS, LG
L = RefKind.LEAGUES, None
FRESH = {L: NOW - 60, T: NOW - 60}  # leagues and teams just fetched


def inp(**kw: Any) -> RefreshInput:
    base: dict[str, Any] = dict(
        now=NOW,
        leagues=(LeagueFacts(LG, "2026"),),
        done_at={},
        not_before={},
        spare_calls=1_000,
        next_live_in_s=15.0,
    )
    base.update(kw)
    return RefreshInput(**base)


def live(**kw: Any) -> tuple[LeagueFacts, ...]:
    return (LeagueFacts(LG, "2026", **kw),)


@pytest.mark.parametrize(
    ("case", "state", "kind", "reason"),
    [
        (
            "nothing fetched yet: standings of a live league first",
            inp(leagues=live(has_live=True)),
            RefKind.STANDINGS,
            "standings",
        ),
        ("nothing fetched, nothing live: leagues before teams", inp(), RefKind.LEAGUES, "leagues"),
        ("leagues fresh: teams", inp(done_at={L: NOW - 60}), RefKind.TEAMS, "teams"),
        (
            "all fresh, league idle: nothing (standings only around matches)",
            inp(done_at=FRESH),
            None,
            "nothing due",
        ),
        (
            "live league, table 19 min old: not yet",
            inp(leagues=live(has_live=True), done_at={**FRESH, S: NOW - 19 * 60}),
            None,
            "nothing due",
        ),
        (
            "live league, table 20 min old: refresh",
            inp(leagues=live(has_live=True), done_at={**FRESH, S: NOW - 20 * 60}),
            RefKind.STANDINGS,
            "standings",
        ),
        (
            "a match just finished: refresh at once",
            inp(leagues=live(finished_at=NOW - 5), done_at={**FRESH, S: NOW - 60}),
            RefKind.STANDINGS,
            "standings",
        ),
        (
            "finished 1 h ago, table 25 min old: still in the window",
            inp(leagues=live(finished_at=NOW - H), done_at={**FRESH, S: NOW - 25 * 60}),
            RefKind.STANDINGS,
            "standings",
        ),
        (
            "finished 3 h ago: window over",
            inp(leagues=live(finished_at=NOW - 3 * H), done_at={**FRESH, S: NOW - 2.9 * H}),
            None,
            "nothing due",
        ),
        (
            "cup without a table: no standings",
            inp(leagues=live(has_live=True, has_standings=False), done_at=FRESH),
            None,
            "nothing due",
        ),
        (
            "host without /standings (basketball)",
            inp(
                leagues=live(has_live=True),
                done_at=FRESH,
                kinds=frozenset({RefKind.LEAGUES, RefKind.TEAMS}),
            ),
            None,
            "nothing due",
        ),
        (
            "teams 6 h old: refresh",
            inp(done_at={L: NOW - 60, T: NOW - 6 * H}),
            RefKind.TEAMS,
            "teams",
        ),
        (
            "leagues 24 h old: refresh",
            inp(done_at={**FRESH, L: NOW - 24 * H}),
            RefKind.LEAGUES,
            "leagues",
        ),
        (
            "no spare quota: nothing, however overdue",
            inp(leagues=live(has_live=True), spare_calls=0),
            None,
            "no spare quota",
        ),
        ("live poll in 2 s: wait for it", inp(next_live_in_s=2.0), None, "live poll first"),
        (
            "failed a minute ago: held back",
            inp(done_at=FRESH, leagues=live(has_live=True), not_before={S: NOW + 14 * 60}),
            None,
            "nothing due",
        ),
    ],
)
def test_plan_refresh(case: str, state: RefreshInput, kind: RefKind | None, reason: str) -> None:
    plan = plan_refresh(CAD, state)
    assert (plan.request.kind if plan.request else None, plan.reason) == (kind, reason), case


@pytest.mark.parametrize(
    ("done", "leagues", "next_at"),
    [
        (FRESH, live(has_live=True), NOW),  # standings never fetched: due now
        ({**FRESH, S: NOW - 60}, live(has_live=True), NOW - 60 + CAD.standings_s),
        (FRESH, live(), NOW - 60 + CAD.teams_s),  # idle league: teams come first
    ],
)
def test_next_check_is_the_earliest_due_time(
    done: dict[tuple[RefKind, int | None], float], leagues: tuple[LeagueFacts, ...], next_at: float
) -> None:
    plan = plan_refresh(CAD, inp(done_at=done, leagues=leagues))
    assert plan.next_at == next_at


def test_no_leagues_and_no_kinds_means_never() -> None:
    plan = plan_refresh(CAD, inp(leagues=(), kinds=frozenset()))
    assert plan.request is None and plan.next_at == math.inf


def test_refresh_carries_league_and_season() -> None:
    plan = plan_refresh(CAD, inp(done_at={L: NOW}))
    assert plan.request == Refresh(RefKind.TEAMS, LG, "2026")


def day(usable: int, live_s: float, *, left_s: float = 86_400.0) -> int:
    state = PlanInput(
        now=0.0,
        live_count=0,
        is_closing=False,
        next_kickoff=None,
        expected_live_s=live_s,
        usable_calls=usable,
        seconds_to_reset=left_s,
    )
    return spare_calls(
        CAD, usable=usable, live_demand=live_demand(DEFAULT_CADENCES["football"], state)
    )


@pytest.mark.parametrize(
    ("case", "usable", "live_s", "left_s", "spare"),
    [
        ("Free plan, six hours of football ahead: none", 95, 6 * H, 86_400.0, 0),
        ("Free plan, no matches today: idle polls take it all", 95, 0.0, 86_400.0, 0),
        ("Free plan, last hour, 95 left: some", 95, 0.0, H, 95 - 5 - 20),
        ("Pro plan, six hours of football ahead: thousands", 7_495, 6 * H, 86_400.0, 5_019),
        ("Pro plan nearly spent: none", 2_000, 6 * H, 86_400.0, 0),
    ],
)
def test_spare_calls_leave_the_live_demand_untouched(
    case: str, usable: int, live_s: float, left_s: float, spare: int
) -> None:
    assert day(usable, live_s, left_s=left_s) == spare, case
