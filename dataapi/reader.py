"""The match store's read side: the history queries behind the data API's list endpoints.

Every list is keyset-paginated on a unique, indexed order (``(start_time, match_id)`` for
matches, the slug for leagues), so walking a 1,000-match day page by page never repeats or skips
a row even while the poller writes. Synchronous: the API runs these in worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dataapi.shapes import event_from_row, league_from_row, match_from_row
from dataapi.tables import leagues, match_events, matches, teams

__all__ = ["MatchPage", "SqlMatchReader"]


@dataclass(frozen=True, slots=True)
class MatchPage:
    items: list[dict[str, Any]]
    #: The keyset position after the last item when more rows follow, else None.
    after: tuple[int, int] | None


class SqlMatchReader:
    __slots__ = ("_engine",)

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def _rows(self, query: sa.Select[Any]) -> Sequence[sa.Row[Any]]:
        with self._engine.connect() as conn:
            return conn.execute(query).all()

    def leagues(self, sport: str, *, after: str | None, limit: int) -> tuple[list[Any], bool]:
        query = sa.select(leagues).where(leagues.c.sport == sport)
        if after is not None:
            query = query.where(leagues.c.slug > after)
        rows = self._rows(query.order_by(leagues.c.slug).limit(limit + 1))
        return [league_from_row(r) for r in rows[:limit]], len(rows) > limit

    def league(self, sport: str, slug: str) -> dict[str, Any] | None:
        query = sa.select(leagues).where(leagues.c.sport == sport, leagues.c.slug == slug)
        rows = self._rows(query.order_by(leagues.c.updated_at.desc()).limit(1))
        return league_from_row(rows[0]) if rows else None

    def has_team(self, sport: str, team_id: int) -> bool:
        query = sa.select(teams.c.team_id).where(teams.c.sport == sport, teams.c.team_id == team_id)
        return bool(self._rows(query))

    def match(self, sport: str, match_id: int) -> dict[str, Any] | None:
        query = sa.select(matches).where(matches.c.sport == sport, matches.c.match_id == match_id)
        rows = self._rows(query)
        return match_from_row(rows[0]) if rows else None

    def timeline(self, sport: str, match_id: int) -> list[dict[str, Any]]:
        """Every event recorded for the match, in match time, then in order of publication."""
        query = (
            sa.select(match_events)
            .where(match_events.c.sport == sport, match_events.c.match_id == match_id)
            .order_by(match_events.c.minute, match_events.c.timestamp, match_events.c.event_id)
        )
        return [event_from_row(r) for r in self._rows(query)]

    def _page(self, query: sa.Select[Any], after: tuple[int, int] | None, limit: int) -> MatchPage:
        if after is not None:
            position = sa.tuple_(matches.c.start_time, matches.c.match_id)
            query = query.where(position > sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
        query = query.order_by(matches.c.start_time, matches.c.match_id).limit(limit + 1)
        rows = self._rows(query)
        page = rows[:limit]
        has_more = len(rows) > limit
        return MatchPage(
            [match_from_row(r) for r in page],
            (page[-1].start_time, page[-1].match_id) if has_more else None,
        )

    def league_matches(
        self,
        sport: str,
        slug: str,
        *,
        day: str,
        statuses: frozenset[str],
        after: tuple[int, int] | None,
        limit: int,
    ) -> MatchPage:
        query = sa.select(matches).where(
            matches.c.sport == sport, matches.c.league_slug == slug, matches.c.day == day
        )
        if statuses:
            query = query.where(matches.c.status.in_(sorted(statuses)))
        return self._page(query, after, limit)

    def team_matches(
        self,
        sport: str,
        team_id: int,
        *,
        from_s: int,
        to_s: int,
        after: tuple[int, int] | None,
        limit: int,
    ) -> MatchPage:
        """Matches of the team that kick off in ``[from_s, to_s)``."""
        query = sa.select(matches).where(
            matches.c.sport == sport,
            sa.or_(matches.c.home_team_id == team_id, matches.c.away_team_id == team_id),
            matches.c.start_time >= from_s,
            matches.c.start_time < to_s,
        )
        return self._page(query, after, limit)
