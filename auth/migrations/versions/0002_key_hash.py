"""Add key_hash (HMAC-SHA256 under the server pepper); the argon2 secret_hash becomes optional.

Nothing is rewritten here: the pepper is configuration and never reaches the migration. Existing
keys keep their argon2id ``secret_hash`` and stay valid; the service stores their ``key_hash``
(and clears ``secret_hash``) on each key's next successful verification. An index on
``revoked_at`` lets a node without Redis ask cheaply which keys were revoked lately.

Downgrade: keys that only have the HMAC form cannot be expressed in the old schema; they get an
unusable ``secret_hash`` (``!``), i.e. they stop working, and must be re-issued.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot ALTER a column in place; Alembic copies the table there
    # and issues plain ALTERs on PostgreSQL.
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("key_hash", sa.String(128), nullable=True))
        batch.alter_column("secret_hash", existing_type=sa.String(255), nullable=True)
    op.create_index("ix_api_keys_revoked_at", "api_keys", ["revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_revoked_at", table_name="api_keys")
    op.execute("UPDATE api_keys SET secret_hash = '!' WHERE secret_hash IS NULL")
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("secret_hash", existing_type=sa.String(255), nullable=False)
        batch.drop_column("key_hash")
