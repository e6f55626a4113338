"""Alembic environment: runs on the connection :mod:`auth.migrate` hands over.

The service never lets Alembic build its own engine from a URL, so the caller's engine (and its
disposal) stays the one owner of connections; ``config.attributes["connection"]`` carries it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from auth.sql import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through auth.migrate, which passes a connection")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
