"""Migrations up and down on real SQLite and real PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from auth import migrate


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    fixture: Engine = request.getfixturevalue(f"{request.param}_engine")
    return fixture


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_then_downgrade_then_upgrade_again(engine: Engine) -> None:
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision() == "0001"
    assert "api_keys" in _tables(engine)
    migrate.upgrade(engine)  # already at head: a no-op
    assert migrate.current_revision(engine) == "0001"
    migrate.downgrade(engine)
    assert migrate.current_revision(engine) is None
    assert "api_keys" not in _tables(engine)
    migrate.upgrade(engine, "0001")
    assert migrate.current_revision(engine) == "0001"
