"""The composed app: mounting, CORS, Redis-backed revocation and a real loopback server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import redis as sync_redis
import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import Mount

from auth.app import AuthService, build_auth_app
from auth.channel_auth import AppCredentials
from auth.config import AuthOptions
from auth.grants import MemoryGrants, RedisGrants
from auth.keys import IssuedKey, issue_key
from auth.policy import default_policy
from auth.revocation import RevocationListener, publish_revocation
from auth.store import MemoryKeyStore
from pusherd.protocol.secret import Secret
from pusherd.protocol.signatures import channel_string_to_sign, verify_token
from tests.auth.conftest import PEPPERS, REDIS_URL, CountingHasher, FakeClock

APP_KEY = "app-key"
APP_SECRET = "app-secret-value"
PRIVATE = "private-sports.basketball.leagues.nba.matches.7"
TIMEOUT_S = 5.0


def _setup(
    hasher: CountingHasher,
    clock: FakeClock,
    *,
    redis: Redis | None = None,
    options: AuthOptions | None = None,
) -> tuple[Starlette, MemoryKeyStore, IssuedKey]:
    store = MemoryKeyStore()
    rng = random.Random(5)
    issued = issue_key(
        rng=rng,
        peppers=PEPPERS,
        name="Pro",
        tier="pro",
        now=datetime.fromtimestamp(clock.time(), UTC),
    )
    store.put(issued.record)
    app = build_auth_app(
        store=store,
        policy=default_policy(),
        credentials=AppCredentials(key=APP_KEY, secret=Secret(APP_SECRET)),
        clock=clock,
        peppers=PEPPERS,
        hasher=hasher,
        rng=rng,
        redis=redis,
        options=options,
    )
    return app, store, issued


def _form(socket_id: str = "1.2") -> dict[str, str]:
    return {"socket_id": socket_id, "channel_name": PRIVATE}


async def test_routes_work_when_mounted_at_the_root_of_a_host_app(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    auth_app, _, issued = _setup(hasher, clock)
    host = Starlette(routes=[Mount("/", app=auth_app)])
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as client:
        response = await client.post(
            "/broadcasting/auth",
            data=_form(),
            headers={"Authorization": f"Bearer {issued.plain.reveal()}"},
        )
    assert response.status_code == 200


async def test_without_redis_grants_live_in_memory_and_running_is_a_no_op(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    app, _, _ = _setup(hasher, clock)
    service: AuthService = app.state.auth_service
    assert isinstance(service.grants, MemoryGrants)
    async with service.running() as listener:
        assert listener is None


async def test_cors_preflight_allows_configured_origins_only(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    app, _, _ = _setup(
        hasher,
        clock,
        options=AuthOptions(cors_origins=("https://fans.example",), key_header="X-Api-Key"),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
        allowed = await client.options(
            "/broadcasting/auth",
            headers={
                "Origin": "https://fans.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key, content-type",
            },
        )
        refused = await client.options(
            "/broadcasting/auth",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://fans.example"
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400


async def test_a_revocation_published_through_redis_takes_effect_at_once(
    hasher: CountingHasher, clock: FakeClock, redis: Redis, redis_prefix: str
) -> None:
    app, store, issued = _setup(
        hasher, clock, redis=redis, options=AuthOptions(redis_prefix=redis_prefix)
    )
    service: AuthService = app.state.auth_service
    assert isinstance(service.grants, RedisGrants)
    headers = {"Authorization": f"Bearer {issued.plain.reveal()}"}
    publisher = sync_redis.Redis.from_url(REDIS_URL)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            service.running() as listener,
            httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client,
        ):
            assert isinstance(listener, RevocationListener)
            ok = await client.post("/broadcasting/auth", data=_form("9.9"), headers=headers)
            assert ok.status_code == 200
            grant = await service.grants.lookup("9.9")
            assert grant is not None and grant.key_id == issued.record.key_id
            # Another process (the CLI) revokes in the database and announces it.
            revoked_at = datetime.fromtimestamp(clock.time(), UTC)
            store.put(dataclasses.replace(issued.record, revoked_at=revoked_at))
            publish_revocation(publisher, redis_prefix, issued.record.key_id)
            async with asyncio.timeout(TIMEOUT_S):
                await listener.wait_handled(1)
            refused = await client.post("/broadcasting/auth", data=_form(), headers=headers)
            assert refused.status_code == 401
            assert refused.json()["reason"] == "revoked_key"
    finally:
        publisher.close()


@contextlib.asynccontextmanager
async def _loopback_server(app: Starlette) -> AsyncIterator[str]:
    """uvicorn on 127.0.0.1, port 0; yields the base URL and shuts down on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while not server.started:
                await asyncio.sleep(0.01)  # startup is not observable otherwise
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_served_by_uvicorn_on_loopback_like_pusher_js_calls_it(
    hasher: CountingHasher, clock: FakeClock, redis: Redis, redis_prefix: str
) -> None:
    app, _, issued = _setup(
        hasher, clock, redis=redis, options=AuthOptions(redis_prefix=redis_prefix)
    )
    async with _loopback_server(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(
            "/broadcasting/auth",
            content=f"socket_id=123.456&channel_name={PRIVATE}",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRF-TOKEN": "ignored",
                "Authorization": f"Bearer {issued.plain.reveal()}",
            },
        )
        refused = await client.post("/broadcasting/user-auth", data={"socket_id": "1.2"})
    assert response.status_code == 200
    assert verify_token(
        response.json()["auth"],
        key=APP_KEY,
        secret=APP_SECRET,
        string_to_sign=channel_string_to_sign("123.456", PRIVATE, None),
    )
    assert refused.status_code == 401
    assert refused.json()["reason"] == "missing_key"
