"""The resources of ``/api/v1``: one method per route, each returning the body and its max age.

Live state comes from the poller's read cache (:class:`LiveCache`, satisfied by
``poller.cache.CacheReader``), history from the match store (:class:`MatchHistory`, satisfied
by :class:`~dataapi.reader.SqlMatchReader`). Nothing here calls the upstream: a match
neither has is asked of the poller's orchestrator (:mod:`dataapi.ondemand`: 202, or 404 once the
upstream said it does not exist), and data served while the upstream is down says how stale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar
from urllib.parse import urlencode

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError

from dataapi.access import KeyIdentity, check_history
from dataapi.errors import BadParameter, NotFound, Unavailable
from dataapi.ondemand import OnDemand, miss, stale_seconds
from dataapi.params import (
    day_start_s,
    decode_cursor,
    encode_cursor,
    parse_date,
    parse_int_id,
    parse_limit,
    parse_statuses,
)
from dataapi.reader import MatchPage
from dataapi.shapes import iso_z

__all__ = ["Body", "DataResources", "LiveCache", "MatchHistory"]

P = ParamSpec("P")
T = TypeVar("T")
MAX_RANGE_DAYS = 366
LIVE_MAX_AGE_S = 5
HISTORY_MAX_AGE_S = 60
REFERENCE_MAX_AGE_S = 3600
#: Remembered live pages (path and query → the lists they were built from, and the page).
_LIVE_MEMO_MAX = 256


class LiveCache(Protocol):
    async def match(self, sport: str, match_id: int) -> dict[str, Any] | None: ...

    async def live(self, sport: str) -> list[dict[str, Any]] | None: ...

    async def standings(self, sport: str, league: int) -> dict[str, Any] | None: ...


class MatchHistory(Protocol):
    def leagues(self, sport: str, *, after: str | None, limit: int) -> tuple[list[Any], bool]: ...

    def league(self, sport: str, slug: str) -> dict[str, Any] | None: ...

    def has_team(self, sport: str, team_id: int) -> bool: ...

    def match(self, sport: str, match_id: int) -> dict[str, Any] | None: ...

    def timeline(self, sport: str, match_id: int) -> list[dict[str, Any]]: ...

    def league_matches(
        self,
        sport: str,
        slug: str,
        *,
        day: str,
        statuses: frozenset[str],
        after: tuple[int, int] | None,
        limit: int,
    ) -> MatchPage: ...

    def team_matches(
        self,
        sport: str,
        team_id: int,
        *,
        from_s: int,
        to_s: int,
        after: tuple[int, int] | None,
        limit: int,
    ) -> MatchPage: ...


class Clock(Protocol):
    def time(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Body:
    payload: dict[str, Any]
    max_age_s: int
    #: Seconds behind while the upstream is down (``Age``, ``X-Data-Stale-Seconds``).
    stale_s: int | None = None


_LiveMemo = tuple[list[list[dict[str, Any]] | None], Body]


def _newest(items: Sequence[Mapping[str, Any]]) -> str | None:
    """``last_updated`` of a list: its newest item's (ISO 8601 Z strings sort by time)."""
    stamps = [item["last_updated"] for item in items if item.get("last_updated")]
    return max(stamps) if stamps else None


def _next_link(path: str, query: Mapping[str, str], cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = {k: v for k, v in query.items() if k != "cursor"} | {"cursor": cursor}
    return f"{path}?{urlencode(params)}"


def _list(items: list[Any], last_updated: str | None, next_link: str | None) -> dict[str, Any]:
    return {"data": items, "next": next_link, "last_updated": last_updated}


class DataResources:
    def __init__(
        self,
        *,
        sports: Sequence[str],
        cache: LiveCache,
        history: MatchHistory,
        clock: Clock,
        base_path: str = "/api/v1",
        on_demand: OnDemand | None = None,
    ) -> None:
        self._sports = tuple(sports)
        self._cache = cache
        self._history = history
        self._clock = clock
        self._base = base_path
        self._on_demand = on_demand
        self._started_at = iso_z(clock.time())
        self._live_memo: dict[tuple[str, tuple[tuple[str, str], ...]], _LiveMemo] = {}

    async def _sql(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await anyio.to_thread.run_sync(lambda: call(*args, **kwargs))
        except SQLAlchemyError as exc:
            raise Unavailable("the match store cannot be reached") from exc

    def _sport(self, sport: str) -> str:
        if sport not in self._sports:
            raise NotFound(f"no sport {sport!r}; see {self._base}/sports")
        return sport

    async def sports(self, path: str, query: Mapping[str, str], _: KeyIdentity) -> Body:
        limit = parse_limit(query)
        after = decode_cursor(query, "sports", (str,))
        names = sorted(self._sports)
        if after is not None:
            names = [name for name in names if name > after[0]]
        page = names[:limit]
        cursor = encode_cursor("sports", [page[-1]]) if len(names) > limit else None
        items = [{"sport_id": name} for name in page]
        return Body(_list(items, self._started_at, _next_link(path, query, cursor)), 3600)

    async def leagues(
        self, path: str, query: Mapping[str, str], _: KeyIdentity, *, sport: str
    ) -> Body:
        sport = self._sport(sport)
        limit = parse_limit(query)
        after = decode_cursor(query, "leagues", (str,))
        items, has_more = await self._sql(
            self._history.leagues, sport, after=after[0] if after else None, limit=limit
        )
        cursor = encode_cursor("leagues", [items[-1]["league_id"]]) if has_more else None
        return Body(
            _list(items, _newest(items), _next_link(path, query, cursor)), REFERENCE_MAX_AGE_S
        )

    async def standings(
        self, path: str, query: Mapping[str, str], _: KeyIdentity, *, sport: str, league: str
    ) -> Body:
        sport = self._sport(sport)
        known = await self._sql(self._history.league, sport, league)
        if known is None:
            raise NotFound(f"no league {league!r} in {sport}")
        table = await self._cache.standings(sport, int(known["upstream_id"]))
        if table is None:
            raise NotFound(f"no standings of {league!r} fetched yet")
        payload = {
            "league_id": league,
            "sport_id": sport,
            "season": table.get("season"),
            "standings": table.get("response", []),
        }
        updated = iso_z(float(table.get("fetched_at") or 0))
        return Body({"data": payload, "last_updated": updated}, HISTORY_MAX_AGE_S)

    async def live(
        self, path: str, query: Mapping[str, str], _: KeyIdentity, *, sport: str | None = None
    ) -> Body:
        limit = parse_limit(query)
        after = decode_cursor(query, "live", (str, int))
        sports = [self._sport(sport)] if sport is not None else sorted(self._sports)
        lists: list[list[dict[str, Any]] | None] = []
        for name in sports:
            live = await self._cache.live(name)
            if live is None and sport is not None:
                raise NotFound(f"no live list of {sport} in the cache (is the poller running?)")
            lists.append(live)
        # The same cached lists (by identity: the cache hands out one object per version) and
        # the same request give the same Body object, which the gate answers from its encoded
        # bytes without encoding again.
        memo_key = (path, tuple(query.items()))
        last = self._live_memo.get(memo_key)
        if last is not None and len(last[0]) == len(lists):
            if all(old is new for old, new in zip(last[0], lists, strict=True)):
                return last[1]
        items: list[dict[str, Any]] = []
        for live in lists:
            items += sorted(live or [], key=lambda m: int(m["match_id"]))
        if after is not None:
            position = (after[0], after[1])
            items = [m for m in items if (m["sport_id"], int(m["match_id"])) > position]
        page = items[:limit]
        cursor = None
        if len(items) > limit:
            cursor = encode_cursor("live", [page[-1]["sport_id"], int(page[-1]["match_id"])])
        body = Body(_list(page, _newest(page), _next_link(path, query, cursor)), LIVE_MAX_AGE_S)
        if len(self._live_memo) >= _LIVE_MEMO_MAX and memo_key not in self._live_memo:
            del self._live_memo[next(iter(self._live_memo))]
        self._live_memo[memo_key] = (lists, body)
        return body

    async def league_matches(
        self, path: str, query: Mapping[str, str], identity: KeyIdentity, *, sport: str, league: str
    ) -> Body:
        sport = self._sport(sport)
        now = self._clock.time()
        day = parse_date(query, "date", datetime.fromtimestamp(now, UTC).date())
        statuses = parse_statuses(query)
        limit = parse_limit(query)
        after = decode_cursor(query, "league-matches", (int, int))
        check_history(identity, day_start_s(day), now)
        if await self._sql(self._history.league, sport, league) is None:
            raise NotFound(f"no league {league!r} in {sport}")
        page = await self._sql(
            self._history.league_matches,
            sport,
            league,
            day=day.isoformat(),
            statuses=statuses,
            after=(after[0], after[1]) if after else None,
            limit=limit,
        )
        cursor = encode_cursor("league-matches", list(page.after)) if page.after else None
        max_age = (
            LIVE_MAX_AGE_S
            if any(m["status"] in ("live", "break") for m in page.items)
            else (HISTORY_MAX_AGE_S)
        )
        return Body(
            _list(page.items, _newest(page.items), _next_link(path, query, cursor)), max_age
        )

    async def match(
        self, path: str, query: Mapping[str, str], identity: KeyIdentity, *, sport: str, id: str
    ) -> Body:
        sport = self._sport(sport)
        match_id = parse_int_id(id, "id")
        stored = await self._sql(self._history.match, sport, match_id)
        live = await self._cache.match(sport, match_id)
        if stored is None and live is None:
            raise await miss(self._on_demand, sport, match_id)
        if stored is not None:
            check_history(identity, _start_s(stored["start_time"]), self._clock.time())
        state = dict(stored or {})
        if live is not None and (stored is None or live["last_updated"] >= stored["last_updated"]):
            state.update(live)  # the cache is at least as fresh: the live compact state wins
        state["events"] = await self._sql(self._history.timeline, sport, match_id)
        is_live = state.get("status") in ("live", "break", "suspended")
        now = self._clock.time()
        updated = state.get("last_updated")
        stale = await stale_seconds(
            self._on_demand, sport, state, now, _start_s(updated) if updated else now
        )
        return Body(
            {"data": state, "last_updated": updated},
            LIVE_MAX_AGE_S if is_live else HISTORY_MAX_AGE_S,
            stale,
        )

    async def team_matches(
        self, path: str, query: Mapping[str, str], identity: KeyIdentity, *, sport: str, id: str
    ) -> Body:
        sport = self._sport(sport)
        team_id = parse_int_id(id, "id")
        today = datetime.fromtimestamp(self._clock.time(), UTC).date()
        first = parse_date(query, "from", today - timedelta(days=7))
        last = parse_date(query, "to", today + timedelta(days=7))
        if last < first:
            raise BadParameter("to", "to must not be before from")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise BadParameter("to", f"a range covers at most {MAX_RANGE_DAYS} days")
        limit = parse_limit(query)
        after = decode_cursor(query, "team-matches", (int, int))
        check_history(identity, day_start_s(first), self._clock.time())
        if not await self._sql(self._history.has_team, sport, team_id):
            raise NotFound(f"no team {team_id} in {sport}")
        page = await self._sql(
            self._history.team_matches,
            sport,
            team_id,
            from_s=day_start_s(first),
            to_s=day_start_s(last) + 86_400,
            after=(after[0], after[1]) if after else None,
            limit=limit,
        )
        cursor = encode_cursor("team-matches", list(page.after)) if page.after else None
        return Body(
            _list(page.items, _newest(page.items), _next_link(path, query, cursor)),
            HISTORY_MAX_AGE_S,
        )


def _start_s(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
