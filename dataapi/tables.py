"""The data API's own SQL schema: leagues, teams, matches and their event timelines.

SQL is the record (issue 11 item 2): Redis holds the fast, expiring view; these tables keep
finished matches and their timelines past every TTL and restart, and answer date ranges. Times
are integer Unix seconds, so keyset cursors and range filters are plain integer comparisons on
both SQLite and PostgreSQL. Mirrors migrations 0001 and 0002 (usage); a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "VERSION_TABLE",
    "api_usage",
    "leagues",
    "match_events",
    "matches",
    "metadata",
    "teams",
    "upstream_costs",
]

#: Alembic's version table for this chain. Not auth's ``alembic_version``: the two packages
#: migrate independently (each can go up and down alone) in one shared database.
VERSION_TABLE = "dataapi_alembic_version"

metadata = sa.MetaData()

leagues = sa.Table(
    "data_leagues",
    metadata,
    sa.Column("sport", sa.String(32), primary_key=True),
    sa.Column("league_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("slug", sa.String(100), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("season", sa.String(20), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

teams = sa.Table(
    "data_teams",
    metadata,
    sa.Column("sport", sa.String(32), primary_key=True),
    sa.Column("team_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

matches = sa.Table(
    "data_matches",
    metadata,
    sa.Column("sport", sa.String(32), primary_key=True),
    sa.Column("match_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("league_id", sa.Integer, nullable=False),
    sa.Column("league_slug", sa.String(100), nullable=False),
    sa.Column("season", sa.String(20), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_short", sa.String(8), nullable=False),
    sa.Column("home_team_id", sa.Integer, nullable=False),
    sa.Column("home_team_name", sa.String(200), nullable=False),
    sa.Column("home_score", sa.Integer, nullable=True),
    sa.Column("away_team_id", sa.Integer, nullable=False),
    sa.Column("away_team_name", sa.String(200), nullable=False),
    sa.Column("away_score", sa.Integer, nullable=True),
    sa.Column("period", sa.String(64), nullable=True),
    sa.Column("clock", sa.String(16), nullable=True),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_data_matches_league_day", "sport", "league_slug", "day", "start_time"),
    sa.Index("ix_data_matches_home", "sport", "home_team_id", "start_time"),
    sa.Index("ix_data_matches_away", "sport", "away_team_id", "start_time"),
    sa.Index("ix_data_matches_start", "start_time"),
)

match_events = sa.Table(
    "data_match_events",
    metadata,
    sa.Column("sport", sa.String(32), primary_key=True),
    sa.Column("match_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("team_id", sa.Integer, nullable=True),
    sa.Column("player_name", sa.String(200), nullable=True),
    sa.Column("time", sa.String(16), nullable=True),
    #: Match minute for ordering the timeline (``time`` is text such as ``"47:00"``).
    sa.Column("minute", sa.Integer, nullable=False),
    sa.Column("description", sa.String(400), nullable=False),
    sa.Column("home_score", sa.Integer, nullable=True),
    sa.Column("away_score", sa.Integer, nullable=True),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
)

#: Upstream calls and their cost per UTC day, host, endpoint and orchestrator priority, for the
#: console (issue 11 item 3; written by the poller through ``dataapi.costs``). Migration 0002.
upstream_costs = sa.Table(
    "data_upstream_costs",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("host", sa.String(200), primary_key=True),
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("priority", sa.String(16), primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
)

#: Usage per key and day, rolled up hourly from Redis (or memory): one row per counter
#: (``requests:{endpoint}``, ``bytes:{endpoint}``, ``refused``, ``ws_peak``,
#: ``ws_connection_minutes``). Each roll-up writes the day's running totals, never a delta, and
#: keeps the larger value on a clash, so a repeated or concurrent roll-up never counts twice.
api_usage = sa.Table(
    "data_api_usage",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("metric", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
