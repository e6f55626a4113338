"""Fixtures of the auth tests: a hand-moved clock, a cheap counting hasher, real databases, Redis.

Databases are real: a SQLite file under ``tmp_path`` and, for PostgreSQL, a database created
with a unique name for the test and dropped afterwards (127.0.0.1:5432, trust auth). Redis keys
use a unique prefix per test and are deleted afterwards; nothing is flushed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis
from sqlalchemy.engine import Engine

from auth import migrate
from auth.pepper import Peppers
from auth.sql import create_engine_for_url

POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
#: A test pepper; tests that search logs for secrets search for this too.
TEST_PEPPER = "test-pepper-" + "7" * 40
PEPPERS = Peppers.from_texts(TEST_PEPPER)


@dataclass
class FakeClock:
    """Wall and monotonic time that move only when a test says so."""

    wall_s: float = 1_800_000_000.0
    mono_s: float = 1_000.0

    def time(self) -> float:
        return self.wall_s

    def monotonic(self) -> float:
        return self.mono_s

    def advance(self, seconds: float) -> None:
        self.wall_s += seconds
        self.mono_s += seconds


class CountingHasher(PasswordHasher):
    """argon2id at its cheapest parameters, counting every ``verify`` (the cost we bound)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verify_count = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verify_count += 1
        return super().verify(hash, password)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def rng() -> random.Random:
    return random.Random(1234)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auth.sqlite3'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test only, dropped afterwards."""
    name = f"auth_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _engine(url: str) -> Iterator[Engine]:
    engine = create_engine_for_url(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    yield from _engine(sqlite_url)


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    yield from _engine(postgres_url)


def migrated_engine_for(request: pytest.FixtureRequest, kind: str) -> Iterator[Engine]:
    """A real database of ``kind`` (``sqlite`` or ``postgres``), migrated to the latest schema."""
    url: str = request.getfixturevalue(f"{kind}_url")
    for engine in _engine(url):
        migrate.upgrade(engine)
        yield engine


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    yield from migrated_engine_for(request, request.param)


@pytest.fixture
def redis_prefix() -> str:
    return f"test:auth:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis(redis_prefix: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        keys: list[Any] = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
