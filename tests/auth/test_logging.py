"""Issue 17's bar: no key, secret, pepper or app secret in any log line, whatever happens.

Every path that logs is driven at DEBUG through the real app, a real SQLite store and real
Redis: success, cache hit, wrong secret, malformed and unknown keys, a legacy argon2 key and its
re-hash, the per-address and per-key limits, a revocation announced through Redis, and a broken
store. Then the captured text (messages, arguments and tracebacks) is searched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import redis as sync_redis
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.engine import Engine

from auth.app import AuthService, build_auth_app
from auth.channel_auth import AppCredentials
from auth.config import AuthOptions
from auth.keys import issue_key
from auth.policy import default_policy
from auth.revocation import RevocationListener, publish_revocation
from auth.sql import SqlKeyStore
from pusherd.protocol.secret import Secret
from tests.auth.conftest import (
    PEPPERS,
    REDIS_URL,
    TEST_PEPPER,
    CountingHasher,
    FakeClock,
    migrated_engine_for,
)

APP_SECRET = "app-secret-that-must-not-leak"
PRIVATE = "private-sports.football.leagues.premier-league.matches.1"


@pytest.fixture
def migrated_engine_sqlite(request: pytest.FixtureRequest) -> Iterator[Engine]:
    yield from migrated_engine_for(request, "sqlite")


async def test_no_secret_reaches_any_log_line(
    migrated_engine_sqlite: Engine,
    hasher: CountingHasher,
    clock: FakeClock,
    redis: Redis,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = SqlKeyStore(engine=migrated_engine_sqlite)
    rng = random.Random(21)
    now = datetime.fromtimestamp(clock.time(), UTC)
    fresh = issue_key(rng=rng, peppers=PEPPERS, name="Ada", tier="pro", now=now)
    old = issue_key(rng=rng, peppers=PEPPERS, name="Old", tier="pro", now=now)
    store.put(fresh.record)
    old_secret = old.plain.reveal().split(".", 1)[1]
    store.put(
        dataclasses.replace(
            old.record,
            key_hash=None,
            secret_hash=hasher.hash(old_secret),
            user_id=old.record.key_id,
        )
    )
    app = build_auth_app(
        store=store,
        policy=default_policy(),
        credentials=AppCredentials(key="app-key", secret=Secret(APP_SECRET)),
        clock=clock,
        peppers=PEPPERS,
        hasher=hasher,
        rng=rng,
        redis=redis,
        options=AuthOptions(redis_prefix=redis_prefix),
    )
    service: AuthService = app.state.auth_service
    transport = httpx.ASGITransport(app=app, client=("192.0.2.1", 1234))
    publisher = sync_redis.Redis.from_url(REDIS_URL)

    async def post(key: str, socket_id: str = "1.1") -> int:
        response = await client.post(
            "/broadcasting/auth",
            data={"socket_id": socket_id, "channel_name": PRIVATE},
            headers={"Authorization": f"Bearer {key}"},
        )
        return response.status_code

    fresh_key, old_key = fresh.plain.reveal(), old.plain.reveal()
    wrong = fresh_key[:-4] + ("0000" if not fresh_key.endswith("0000") else "1111")
    try:
        async with (
            service.running() as listener,
            httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client,
        ):
            assert isinstance(listener, RevocationListener)
            assert await post(fresh_key) == 200
            assert await post(fresh_key) == 200  # cache hit
            assert await post(old_key) == 200  # argon2, then re-hashed
            assert await post("pk_" + fresh_key[3:19]) == 401  # malformed
            statuses = [await post(wrong) for _ in range(25)]  # wrong secret, then 429
            assert 429 in statuses
            store.put(dataclasses.replace(fresh.record, revoked_at=now))
            publish_revocation(publisher, redis_prefix, fresh.record.key_id)
            async with asyncio.timeout(5):
                await listener.wait_handled(1)
            clock.advance(120)
            assert await post(fresh_key) == 401
            with migrated_engine_sqlite.begin() as conn:  # a broken store: 503, logged
                conn.execute(sa.text("DROP TABLE api_keys"))
            assert await post(old_key, "1.2") in (200, 503)  # cached, or the store fails
            clock.advance(120)
            assert await post(old_key, "1.3") == 503
    finally:
        publisher.close()
    text = caplog.text + "".join(
        str(record.args) + str(record.exc_info) for record in caplog.records
    )
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for needle in (
        fresh_key,
        old_key,
        fresh_key.split(".", 1)[1],
        old_secret,
        wrong.split(".", 1)[1],
        TEST_PEPPER,
        APP_SECRET,
    ):
        assert needle not in text
