"""The match store's write side: what the poller records, and the retention prune.

SQLAlchemy 2 Core over the same engines as the auth service (SQLite file by default,
PostgreSQL with ``DATABASE_URL``; psycopg 3). Writes are idempotent upserts keyed by the
upstream ids and the derived ``event_id``, so a batch recorded twice (the poller is
at-least-once) changes nothing. An event keeps the ``timestamp`` and scores of its first record
(what the WebSocket carried); a rewrite upstream (backfilled name, shifted minute) updates its
content under the same id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from dataapi import migrate
from dataapi.tables import leagues, match_events, matches, teams
from poller.model import Match
from poller.payloads import describe
from poller.record import RecordBatch

__all__ = ["DEFAULT_DATABASE_URL", "SqlMatchStore", "create_engine_for_url", "open_match_engine"]

#: Its own file by default, so the poller's frequent writes never wait on the key store's lock.
DEFAULT_DATABASE_URL = "sqlite:///pusherd-data.sqlite3"
_CHUNK_ROWS = 500  # well under SQLite's 32,766 bound variables per statement


def create_engine_for_url(url: str) -> Engine:
    """An engine for ``sqlite:///file`` or ``postgresql://…`` (psycopg 3), owned by the caller."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        connect_args["check_same_thread"] = False  # used from worker threads, one at a time
    return sa.create_engine(parsed, connect_args=connect_args)


@contextlib.contextmanager
def open_match_engine(url: str) -> Iterator[Engine]:
    """An engine for ``url`` migrated to the newest match-store schema; disposed on exit."""
    engine = create_engine_for_url(url)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def _day(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d")


def minute_of(time: str | None) -> int:
    """The match minute of ``"47:00"`` (``-1`` when unknown, so it sorts first)."""
    if not time:
        return -1
    head = time.split(":", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else -1


def _upsert(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], updated: Sequence[str]
) -> None:
    """Insert ``rows``; on a primary-key clash update only the ``updated`` columns."""
    if not rows:
        return
    keys = [column.name for column in table.primary_key.columns]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), _CHUNK_ROWS):
        statement = dialect.insert(table).values(list(rows[start : start + _CHUNK_ROWS]))
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in updated}
        )
        conn.execute(statement)


def _match_row(match: Match, slug: str, now: int) -> dict[str, Any]:
    return {
        "sport": match.sport,
        "match_id": match.match_id,
        "league_id": match.league_id,
        "league_slug": slug,
        "season": match.season,
        "day": _day(match.start_time),
        "start_time": match.start_time,
        "status": match.status.value,
        "status_short": match.status_short,
        "home_team_id": match.home.id,
        "home_team_name": match.home.name,
        "home_score": match.home.score,
        "away_team_id": match.away.id,
        "away_team_name": match.away.name,
        "away_score": match.away.score,
        "period": match.period,
        "clock": match.clock,
        "updated_at": now,
    }


def _event_rows(batch: RecordBatch, now: int) -> list[dict[str, Any]]:
    """Published payloads first; rows the poller knows but never sent (a match first seen after
    it ended) get the record time and the score of the moment they were recorded."""
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for match in batch.matches:
        for event in match.events:
            rows[(match.match_id, event.event_id)] = {
                "match_id": match.match_id,
                "event_id": event.event_id,
                "event_type": event.event_type.value,
                "team_id": event.team_id,
                "player_name": event.player_name,
                "time": event.time,
                "description": describe(event),
                "home_score": match.home.score,
                "away_score": match.away.score,
                "timestamp": now,
            }
    for payload in batch.events:
        key = (int(payload["match_id"]), int(payload["event_id"]))
        timestamp = datetime.strptime(payload["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        rows[key] = {
            name: payload.get(name)
            for name in (
                "match_id",
                "event_id",
                "event_type",
                "team_id",
                "player_name",
                "time",
                "description",
                "home_score",
                "away_score",
            )
        } | {"timestamp": int(timestamp.replace(tzinfo=UTC).timestamp())}
    return [
        row | {"sport": batch.sport, "minute": minute_of(row["time"])}
        for _, row in sorted(rows.items())
    ]


class SqlMatchStore:
    """:class:`~poller.record.MatchRecorder` over an engine the caller owns."""

    __slots__ = ("_engine",)

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def record(self, batch: RecordBatch) -> None:
        now = int(batch.recorded_at)
        match_rows = [
            _match_row(m, batch.league_slugs.get(m.league_id, str(m.league_id)), now)
            for m in batch.matches
        ]
        league_rows = {
            m.league_id: {
                "sport": batch.sport,
                "league_id": m.league_id,
                "slug": batch.league_slugs.get(m.league_id, str(m.league_id)),
                "name": m.league_name,
                "season": m.season,
                "updated_at": now,
            }
            for m in batch.matches
        }
        team_rows = {
            team.id: {
                "sport": batch.sport,
                "team_id": team.id,
                "name": team.name,
                "updated_at": now,
            }
            for m in batch.matches
            for team in (m.home, m.away)
        }
        with self._engine.begin() as conn:
            _upsert(
                conn, leagues, list(league_rows.values()), ("slug", "name", "season", "updated_at")
            )
            _upsert(conn, teams, list(team_rows.values()), ("name", "updated_at"))
            updated = [c.name for c in matches.columns if not c.primary_key]
            _upsert(conn, matches, match_rows, updated)
            _upsert(
                conn,
                match_events,
                _event_rows(batch, now),
                ("event_type", "team_id", "player_name", "time", "minute", "description"),
            )

    def prune(self, *, before_s: float) -> int:
        """Delete matches that kicked off before ``before_s`` and their events (retention)."""
        old = sa.select(matches.c.sport, matches.c.match_id).where(
            matches.c.start_time < int(before_s)
        )
        with self._engine.begin() as conn:
            doomed = conn.execute(old).all()
            for start in range(0, len(doomed), _CHUNK_ROWS):
                chunk = doomed[start : start + _CHUNK_ROWS]
                pairs = sa.tuple_(match_events.c.sport, match_events.c.match_id).in_(
                    [(row.sport, row.match_id) for row in chunk]
                )
                conn.execute(sa.delete(match_events).where(pairs))
            conn.execute(sa.delete(matches).where(matches.c.start_time < int(before_s)))
        return len(doomed)
