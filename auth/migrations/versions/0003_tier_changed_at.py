"""Add tier_changed_at: when ``keys set-tier`` last changed a key's tier (indexed).

Why: a node without Redis learns of a tier change the way it learns of a revocation, by asking
the database every few seconds which keys changed lately; the index keeps that question cheap.
Existing keys get NULL (never changed). Downgrade drops the column; nothing else is lost.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("tier_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_api_keys_tier_changed_at", "api_keys", ["tier_changed_at"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_tier_changed_at", table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("tier_changed_at")
