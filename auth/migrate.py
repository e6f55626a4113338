"""Schema migrations, run programmatically on an engine the caller owns.

Alembic's scripts live in ``auth/migrations`` inside the package, so an installed pusherd can
migrate its database without an ``alembic.ini`` on disk: ``python -m auth db upgrade``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["HEAD", "current_revision", "downgrade", "head_revision", "upgrade"]

HEAD = "head"
_SCRIPTS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(engine: Engine, revision: str = HEAD) -> None:
    """Migrate up to ``revision`` (all the way by default); a no-op when already there."""
    with engine.begin() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate down to ``revision`` (an empty schema by default)."""
    with engine.begin() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, ``None`` before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision the package ships, e.g. to check a database is up to date."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package ships at least one migration
    return head
