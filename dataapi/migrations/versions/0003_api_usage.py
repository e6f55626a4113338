"""Usage per key and day, rolled up from Redis hourly (issue 11 item 7).

Revision ID: d0003
Revises: d0002costs
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0003"
down_revision = "d0002costs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_api_usage",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("metric", sa.String(100), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("data_api_usage")
