"""Upstream call costs per day, host, endpoint and priority (the orchestrator's ledger).

Revision ID: d0002costs
Revises: d0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0002costs"
down_revision = "d0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_upstream_costs",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("host", sa.String(200), primary_key=True),
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("priority", sa.String(16), primary_key=True),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("data_upstream_costs")
