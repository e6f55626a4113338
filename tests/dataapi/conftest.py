"""Fixtures of the data API tests: real SQLite and PostgreSQL databases, real Redis, and a match
store filled by the poller from the simulated upstream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import Engine

from dataapi.store import open_match_engine

# The simulated upstream, its fake clock and per-test Redis, shared with the poller's tests:
# pytest finds fixtures by name in this module, so the names are imported, never called here.
from tests.poller.conftest import (  # noqa: F401
    fake_clock,
    redis_client,
    redis_prefix,
    sim_url,
    simulator,
)

POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data.sqlite3'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test only, dropped afterwards."""
    name = f"dataapi_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    with open_match_engine(sqlite_url) as engine:
        yield engine


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
