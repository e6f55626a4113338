"""Low-priority reference-data refreshes (leagues, teams, standings): a pure plan from ``now``.

Live matches come first (issue item 5). This planner only spends *spare* quota: what remains
of the usable budget (already short of the reserve) after the live plan's own demand for the
rest of the day (:func:`poller.plan.live_demand`, counted at the fastest cadence), less a slack
and a margin. On a Free plan with matches today that is nothing, so reference data yields
entirely to live polls. It never starts a call when the next live poll is close, and the poll
loop asks it only when no live, final-state or fixtures call is due.

Cadences follow the provider's guidance (upstream reference §3, §6.6): leagues (coverage) once
a day, teams every few hours, standings every ``standings_s`` while a league has a match in
play or finished one within ``standings_window_s``, and once right after a final whistle.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "LeagueFacts",
    "RefKind",
    "Refresh",
    "RefreshCadence",
    "RefreshInput",
    "RefreshPlan",
    "plan_refresh",
    "spare_calls",
]


class RefKind(enum.Enum):
    """Kinds of reference data, in priority order (standings change with results)."""

    STANDINGS = "standings"
    LEAGUES = "leagues"
    TEAMS = "teams"


_PRIORITY = {kind: n for n, kind in enumerate(RefKind)}


@dataclass(frozen=True, slots=True)
class RefreshCadence:
    leagues_s: float = 24 * 3600.0
    teams_s: float = 6 * 3600.0
    standings_s: float = 20 * 60.0
    #: Standings stay on ``standings_s`` this long after a league's last final whistle.
    standings_window_s: float = 2 * 3600.0
    #: Wait after a refresh failed (the upstream is unwell; live polls matter more).
    retry_s: float = 15 * 60.0
    #: Start nothing when the next live poll is closer than this.
    min_live_gap_s: float = 5.0
    #: Safety on top of the live plan's demand: ``ceil(demand * (1 + slack)) + margin_calls``.
    slack: float = 0.1
    margin_calls: int = 20
    #: How often to look again while there is no spare quota.
    recheck_s: float = 15 * 60.0


@dataclass(frozen=True, slots=True)
class LeagueFacts:
    """What the poller knows of one league it has matches in."""

    league_id: int
    season: str
    has_live: bool = False
    #: When the poller last saw one of its matches finish (None: not since it started).
    finished_at: float | None = None
    #: False when the league's coverage says it has no table (cups), once leagues are known.
    has_standings: bool = True


@dataclass(frozen=True, slots=True)
class Refresh:
    kind: RefKind
    league_id: int | None = None
    season: str | None = None

    @property
    def key(self) -> tuple[RefKind, int | None]:
        return (self.kind, self.league_id)


@dataclass(frozen=True, slots=True)
class RefreshInput:
    now: float
    leagues: tuple[LeagueFacts, ...]
    #: When each refresh last succeeded, by :attr:`Refresh.key`.
    done_at: Mapping[tuple[RefKind, int | None], float]
    #: Refreshes held back (a failure, a plan refusal) until the given time.
    not_before: Mapping[tuple[RefKind, int | None], float]
    spare_calls: int
    #: Seconds until the next live poll of this sport.
    next_live_in_s: float
    #: What the sport's host offers.
    kinds: frozenset[RefKind] = frozenset(RefKind)


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    #: The refresh to make now, or None.
    request: Refresh | None
    reason: str
    #: When to ask again if nothing is due now (``inf``: nothing to refresh).
    next_at: float


def spare_calls(cadence: RefreshCadence, *, usable: int, live_demand: float) -> int:
    """Calls reference data may spend today without making the quota bind on live polls."""
    return max(0, usable - math.ceil(live_demand * (1 + cadence.slack)) - cadence.margin_calls)


def _candidates(cadence: RefreshCadence, state: RefreshInput) -> list[tuple[float, Refresh]]:
    never = -math.inf
    out: list[tuple[float, Refresh]] = []
    if RefKind.LEAGUES in state.kinds:
        req = Refresh(RefKind.LEAGUES)
        out.append((state.done_at.get(req.key, never) + cadence.leagues_s, req))
    for lg in state.leagues:
        if RefKind.TEAMS in state.kinds:
            req = Refresh(RefKind.TEAMS, lg.league_id, lg.season)
            out.append((state.done_at.get(req.key, never) + cadence.teams_s, req))
        if RefKind.STANDINGS not in state.kinds or not lg.has_standings:
            continue
        req = Refresh(RefKind.STANDINGS, lg.league_id, lg.season)
        done = state.done_at.get(req.key, never)
        if lg.finished_at is not None and lg.finished_at > done:
            out.append((lg.finished_at, req))  # a result is in: the table changed
        elif lg.has_live or (
            lg.finished_at is not None and state.now - lg.finished_at <= cadence.standings_window_s
        ):
            out.append((done + cadence.standings_s, req))
    return [(max(due, state.not_before.get(req.key, never)), req) for due, req in out]


def plan_refresh(cadence: RefreshCadence, state: RefreshInput) -> RefreshPlan:
    """The one reference refresh to make now, if the quota and the live plan allow it."""
    if state.spare_calls <= 0:
        return RefreshPlan(None, "no spare quota", state.now + cadence.recheck_s)
    candidates = _candidates(cadence, state)
    if not candidates:
        return RefreshPlan(None, "nothing to refresh", math.inf)
    due = [(due_at, req) for due_at, req in candidates if due_at <= state.now]
    if not due:
        return RefreshPlan(None, "nothing due", min(d for d, _ in candidates))
    if state.next_live_in_s < cadence.min_live_gap_s:
        # A live poll is about to go out: never make it wait behind a reference call.
        return RefreshPlan(None, "live poll first", state.now + state.next_live_in_s)
    _, request = min(due, key=lambda c: (_PRIORITY[c[1].kind], c[0]))
    return RefreshPlan(request, request.kind.value, state.now)
