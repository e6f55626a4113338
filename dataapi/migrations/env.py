"""Alembic environment of the match store: runs on the connection :mod:`dataapi.migrate` passes.

Its own version table (:data:`dataapi.tables.VERSION_TABLE`) keeps this chain apart from the
auth service's in the same database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dataapi.tables import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through dataapi.migrate, which passes a connection")
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
