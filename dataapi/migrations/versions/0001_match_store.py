"""Create the match store: leagues, teams, matches and match events.

Revision ID: d0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_leagues",
        sa.Column("sport", sa.String(32), primary_key=True),
        sa.Column("league_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("season", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "data_teams",
        sa.Column("sport", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "data_matches",
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
    )
    op.create_index(
        "ix_data_matches_league_day",
        "data_matches",
        ["sport", "league_slug", "day", "start_time"],
    )
    op.create_index("ix_data_matches_home", "data_matches", ["sport", "home_team_id", "start_time"])
    op.create_index("ix_data_matches_away", "data_matches", ["sport", "away_team_id", "start_time"])
    op.create_index("ix_data_matches_start", "data_matches", ["start_time"])
    op.create_table(
        "data_match_events",
        sa.Column("sport", sa.String(32), primary_key=True),
        sa.Column("match_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("team_id", sa.Integer, nullable=True),
        sa.Column("player_name", sa.String(200), nullable=True),
        sa.Column("time", sa.String(16), nullable=True),
        sa.Column("minute", sa.Integer, nullable=False),
        sa.Column("description", sa.String(400), nullable=False),
        sa.Column("home_score", sa.Integer, nullable=True),
        sa.Column("away_score", sa.Integer, nullable=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("data_match_events")
    for index in (
        "ix_data_matches_start",
        "ix_data_matches_away",
        "ix_data_matches_home",
        "ix_data_matches_league_day",
    ):
        op.drop_index(index, table_name="data_matches")
    op.drop_table("data_matches")
    op.drop_table("data_teams")
    op.drop_table("data_leagues")
