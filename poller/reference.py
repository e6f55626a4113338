"""Reference data for the data API: leagues, teams and standings, refreshed on spare quota.

The I/O side of :mod:`poller.refplan`: it gathers the facts the pure plan needs from the poll
loop's match states, makes the one call the plan picks, and writes the answer to the read cache
(:mod:`poller.cache`) under ``cache:{sport}:leagues``, ``cache:{sport}:teams:{league}`` and
``cache:{sport}:standings:{league}``. A league's cached table is dropped as soon as one of its
matches finishes (the result makes it wrong), and the plan refetches it right away when the
quota allows. Failures never touch the circuit breaker or the live backoff: reference data
must not slow the live feed; it waits ``retry_s`` (a plan refusal: until the next UTC day).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from poller.cache import DataCache, cache_key, reference_entry
from poller.model import Match, StatusBucket
from poller.providers.base import Fetch, PlanRestricted, Provider, UpstreamError
from poller.refplan import (
    LeagueFacts,
    RefKind,
    Refresh,
    RefreshCadence,
    RefreshInput,
    RefreshPlan,
    plan_refresh,
)

__all__ = ["KINDS_BY_SPORT", "ReferenceRefresher", "leagues_without_table"]

logger = logging.getLogger("poller.reference")

#: What each host offers (upstream reference §3.5, §8.3: no ``/standings`` listed for v1 hosts).
KINDS_BY_SPORT: Mapping[str, frozenset[RefKind]] = {
    "football": frozenset(RefKind),
    "basketball": frozenset({RefKind.LEAGUES, RefKind.TEAMS}),
    "baseball": frozenset({RefKind.LEAGUES, RefKind.TEAMS}),
}


def _current_season(seasons: Any) -> dict[str, Any] | None:
    if not isinstance(seasons, list):
        return None
    rows = [s for s in seasons if isinstance(s, dict)]
    current = [s for s in rows if s.get("current") is True] or rows
    return current[-1] if current else None


def leagues_without_table(items: Iterable[Any]) -> set[int]:
    """League ids whose current season's coverage says ``standings: false``.

    Football items nest ``league.id``; the v1 hosts' items are flat (``id`` at the top).
    """
    out: set[int] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        league = item.get("league") if isinstance(item.get("league"), dict) else item
        league_id = league.get("id") if isinstance(league, dict) else None
        season = _current_season(item.get("seasons"))
        coverage = season.get("coverage") if season else None
        if isinstance(league_id, int) and isinstance(coverage, dict):
            if coverage.get("standings") is False:
                out.add(league_id)
    return out


class ReferenceRefresher:
    def __init__(
        self,
        *,
        sport: str,
        provider: Provider,
        cache: DataCache,
        cadence: RefreshCadence,
    ) -> None:
        self.sport = sport
        self._provider = provider
        self._cache = cache
        self.cadence = cadence
        self.kinds = KINDS_BY_SPORT.get(sport, frozenset({RefKind.LEAGUES}))
        self.done_at: dict[tuple[RefKind, int | None], float] = {}
        self.not_before: dict[tuple[RefKind, int | None], float] = {}
        self.finished_at: dict[int, float] = {}
        self.no_table: set[int] = set()
        self.next_at = 0.0
        self.last_plan: RefreshPlan | None = None
        self._in_play: set[int] = set()
        self._request: Refresh | None = None

    def observe(self, matches: Iterable[Match], now: float) -> list[int]:
        """Note which leagues just had a match finish; returns their ids."""
        finished: list[int] = []
        for match in matches:
            was_in_play = match.match_id in self._in_play
            if match.status.is_in_play:
                self._in_play.add(match.match_id)  # bounded by the matches in play
            else:
                self._in_play.discard(match.match_id)
            if was_in_play and match.status is StatusBucket.FINISHED:
                self.finished_at[match.league_id] = now
                finished.append(match.league_id)
        return finished

    async def after_poll(self, matches: Iterable[Match], now: float) -> None:
        """Drop the tables a final whistle made wrong (issue item 6: invalidate on status)."""
        stale = self.observe(matches, now)
        # A poll can start a league's live window or end a match: plan again at the next step.
        self.next_at = min(self.next_at, now)
        if not stale or RefKind.STANDINGS not in self.kinds:
            return
        try:
            await self._cache.delete(*(cache_key(self.sport, "standings", i) for i in stale))
        except Exception as exc:  # a read cache going away must not stop the feed
            logger.warning("%s: standings invalidation failed: %s", self.sport, exc)

    def due(
        self,
        matches: Iterable[Match],
        *,
        now: float,
        spare_calls: int,
        next_live_in_s: float,
        can_call: bool,
    ) -> Refresh | None:
        """The refresh to make now, if any (``can_call``: breaker closed, a token to spare)."""
        if not can_call:
            self.next_at = now + 1.0
            return None
        leagues: dict[int, LeagueFacts] = {}
        for m in matches:
            known = leagues.get(m.league_id)
            leagues[m.league_id] = LeagueFacts(
                league_id=m.league_id,
                season=m.season,
                has_live=m.status.is_in_play or (known is not None and known.has_live),
                finished_at=self.finished_at.get(m.league_id),
                has_standings=m.league_id not in self.no_table,
            )
        plan = plan_refresh(
            self.cadence,
            RefreshInput(
                now=now,
                leagues=tuple(lg for lg in leagues.values() if lg.season),
                done_at=self.done_at,
                not_before=self.not_before,
                spare_calls=spare_calls,
                next_live_in_s=next_live_in_s,
                kinds=self.kinds,
            ),
        )
        self.last_plan = plan
        self.next_at = plan.next_at if plan.request is None else now
        self._request = plan.request
        return plan.request

    async def fetch(self) -> Fetch:
        request = self._request
        assert request is not None
        if request.kind is RefKind.LEAGUES:
            return await self._provider.leagues(self.sport)
        assert request.league_id is not None and request.season is not None
        if request.kind is RefKind.TEAMS:
            return await self._provider.teams(self.sport, request.league_id, request.season)
        return await self._provider.standings(self.sport, request.league_id, request.season)

    async def store(self, fetch: Fetch, now: float) -> None:
        request = self._request
        assert request is not None
        self._request = None
        self.done_at[request.key] = now
        if request.kind is RefKind.LEAGUES:
            self.no_table = leagues_without_table(fetch.items)
        key, value, ttl_s = reference_entry(self.sport, request, fetch.items, now)
        try:
            await self._cache.put_many({key: (value, ttl_s)})
        except Exception as exc:  # a read cache going away must not stop the feed
            logger.warning("%s: cache write failed: %s", self.sport, exc)

    def failed(self, exc: UpstreamError, now: float) -> None:
        request = self._request
        assert request is not None
        self._request = None
        if isinstance(exc, PlanRestricted):
            # e.g. "Free plans do not have access to this season" (§6.1): not before tomorrow.
            self.not_before[request.key] = (math.floor(now / 86_400) + 1) * 86_400 + 60
        else:
            self.not_before[request.key] = now + self.cadence.retry_s
        logger.warning(
            "%s: %s refresh failed, next try in %.0fs: %s",
            self.sport,
            request.kind.value,
            self.not_before[request.key] - now,
            exc,
        )
