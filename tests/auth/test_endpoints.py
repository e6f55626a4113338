"""The two endpoints over ASGI, request and answer formats exactly as §14.4–§14.5 describe."""

from __future__ import annotations

import base64
import dataclasses
import logging
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from auth.app import AuthService, build_auth_app
from auth.channel_auth import AppCredentials
from auth.config import AuthOptions
from auth.keys import ApiKey, issue_key
from auth.policy import default_policy
from auth.store import MemoryKeyStore
from pusherd.protocol.secret import Secret
from pusherd.protocol.signatures import (
    channel_string_to_sign,
    encrypted_shared_secret,
    user_string_to_sign,
    verify_token,
)
from tests.auth.conftest import PEPPERS, CountingHasher, FakeClock

APP_KEY = "app-key"
APP_SECRET = "app-secret-value"
MASTER = bytes(range(32))
PRIVATE = "private-sports.football.leagues.premier-league.matches.12345"
PRESENCE = "presence-sports.football.leagues.premier-league.matches.12345"
ENCRYPTED = "private-encrypted-sports.football.leagues.premier-league.matches.12345"


@dataclass
class Harness:
    app: Starlette
    client: httpx.AsyncClient
    store: MemoryKeyStore
    hasher: CountingHasher
    clock: FakeClock
    keys: dict[str, str] = field(repr=False)  # tier → plain key; never printed

    @property
    def service(self) -> AuthService:
        service: AuthService = self.app.state.auth_service
        return service

    async def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        tier: str | None = "enterprise",
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if tier is not None:
            all_headers["Authorization"] = f"Bearer {self.keys[tier]}"
        return await self.client.post(path, data=data, json=json, headers=all_headers)


async def make_harness(
    hasher: CountingHasher,
    clock: FakeClock,
    options: AuthOptions | None = None,
    *,
    master: bytes | None = MASTER,
    store: MemoryKeyStore | None = None,
) -> AsyncIterator[Harness]:
    store = store if store is not None else MemoryKeyStore()
    rng = random.Random(99)
    keys: dict[str, str] = {}
    now = datetime.fromtimestamp(clock.time(), UTC)
    for tier in ("free", "pro", "enterprise"):
        issued = issue_key(rng=rng, peppers=PEPPERS, name=f"{tier} user", tier=tier, now=now)
        store.put(issued.record)
        keys[tier] = issued.plain.reveal()
    credentials = AppCredentials(
        key=APP_KEY,
        secret=Secret(APP_SECRET),
        encryption_master_key_base64=None
        if master is None
        else Secret(base64.b64encode(master).decode()),
    )
    app = build_auth_app(
        store=store,
        policy=default_policy(),
        credentials=credentials,
        clock=clock,
        peppers=PEPPERS,
        hasher=hasher,
        rng=rng,
        options=options,
    )
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
        yield Harness(app, client, store, hasher, clock, keys)


@pytest.fixture
async def harness(hasher: CountingHasher, clock: FakeClock) -> AsyncIterator[Harness]:
    async for h in make_harness(hasher, clock):
        yield h


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "reason"}
    reason: str = body["reason"]
    return reason


async def test_private_channel_form_request_returns_a_verifiable_auth(harness: Harness) -> None:
    response = await harness.post(
        "/broadcasting/auth", {"socket_id": "123.456", "channel_name": PRIVATE}, tier="pro"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"auth"}
    assert body["auth"].startswith(f"{APP_KEY}:")
    assert verify_token(
        body["auth"],
        key=APP_KEY,
        secret=APP_SECRET,
        string_to_sign=channel_string_to_sign("123.456", PRIVATE, None),
    )


async def test_json_body_is_accepted_too(harness: Harness) -> None:
    response = await harness.post(
        "/broadcasting/auth", json={"socket_id": "1.2", "channel_name": PRIVATE}, tier="pro"
    )
    assert response.status_code == 200


async def test_presence_returns_signed_channel_data_with_id_and_name_only(
    harness: Harness,
) -> None:
    response = await harness.post(
        "/broadcasting/auth", {"socket_id": "123.456", "channel_name": PRESENCE}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"auth", "channel_data"}
    record = next(r for r in harness.store.list_all() if r.tier == "enterprise")
    assert orjson.loads(body["channel_data"]) == {
        "user_id": record.user_id,
        "user_info": {"id": record.user_id, "name": "enterprise user"},
    }
    assert harness.keys["enterprise"] not in body["channel_data"]
    assert verify_token(
        body["auth"],
        key=APP_KEY,
        secret=APP_SECRET,
        string_to_sign=channel_string_to_sign("123.456", PRESENCE, body["channel_data"]),
    )


async def test_encrypted_channel_returns_the_shared_secret(harness: Harness) -> None:
    response = await harness.post(
        "/broadcasting/auth", {"socket_id": "1.2", "channel_name": ENCRYPTED}, tier="pro"
    )
    body = response.json()
    assert set(body) == {"auth", "shared_secret"}
    assert body["shared_secret"] == encrypted_shared_secret(ENCRYPTED, MASTER)
    assert verify_token(
        body["auth"],
        key=APP_KEY,
        secret=APP_SECRET,
        string_to_sign=channel_string_to_sign("1.2", ENCRYPTED, None),
    )


async def test_encrypted_channel_without_master_key_is_refused(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    async for h in make_harness(hasher, clock, master=None):
        response = await h.post(
            "/broadcasting/auth", {"socket_id": "1.2", "channel_name": ENCRYPTED}, tier="pro"
        )
        assert _error(response, 403) == "encryption_not_configured"


async def test_user_auth_returns_signed_user_data(harness: Harness) -> None:
    response = await harness.post("/broadcasting/user-auth", {"socket_id": "123.456"}, tier="free")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"auth", "user_data"}
    user_data = orjson.loads(body["user_data"])
    assert isinstance(user_data["id"], str)
    assert user_data["user_info"]["name"] == "free user"
    assert verify_token(
        body["auth"],
        key=APP_KEY,
        secret=APP_SECRET,
        string_to_sign=user_string_to_sign("123.456", body["user_data"]),
    )


async def test_free_tier_key_is_refused_a_private_channel(harness: Harness) -> None:
    response = await harness.post(
        "/broadcasting/auth", {"socket_id": "1.2", "channel_name": PRIVATE}, tier="free"
    )
    assert _error(response, 403) == "tier_too_low"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_key"),
        ({"Authorization": "Basic abc"}, "missing_key"),
        ({"Authorization": "Bearer nonsense"}, "invalid_key"),
        ({"Authorization": "Bearer pk_" + "0" * 16 + "." + "0" * 64}, "invalid_key"),
    ],
)
async def test_missing_or_invalid_key_is_401(
    harness: Harness, headers: dict[str, str], reason: str
) -> None:
    response = await harness.post(
        "/broadcasting/auth",
        {"socket_id": "1.2", "channel_name": PRIVATE},
        tier=None,
        headers=headers,
    )
    assert _error(response, 401) == reason


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        ({"socket_id": "abc", "channel_name": PRIVATE}, 422, "invalid_socket_id"),
        ({"channel_name": PRIVATE}, 422, "invalid_socket_id"),
        ({"socket_id": "1.2"}, 422, "invalid_channel_name"),
        ({"socket_id": "1.2", "channel_name": "private-bad name"}, 422, "invalid_channel_name"),
        ({"socket_id": "1.2", "channel_name": "private-unknown"}, 403, "no_rule"),
        ({"socket_id": "1.2", "channel_name": "sports.football"}, 403, "public_channel"),
    ],
)
async def test_bad_requests_say_which_field(
    harness: Harness, data: dict[str, str], status: int, reason: str
) -> None:
    assert _error(await harness.post("/broadcasting/auth", data), status) == reason


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
    ],
)
async def test_unreadable_bodies_are_422(
    harness: Harness, content: bytes, content_type: str
) -> None:
    response = await harness.client.post(
        "/broadcasting/auth",
        content=content,
        headers={"Authorization": f"Bearer {harness.keys['pro']}", "Content-Type": content_type},
    )
    assert _error(response, 422) == "invalid_body"


async def test_a_huge_body_is_413(harness: Harness) -> None:
    response = await harness.post(
        "/broadcasting/auth", {"socket_id": "1.2", "channel_name": "x" * 10_000}
    )
    assert _error(response, 413) == "body_too_large"


async def test_json_fields_must_be_strings(harness: Harness) -> None:
    response = await harness.post(
        "/broadcasting/auth", json={"socket_id": 1.2, "channel_name": PRIVATE}
    )
    assert _error(response, 422) == "invalid_socket_id"


async def test_a_custom_key_header_carries_the_raw_key(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    async for h in make_harness(hasher, clock, AuthOptions(key_header="X-Api-Key")):
        ok = await h.post(
            "/broadcasting/auth",
            {"socket_id": "1.2", "channel_name": PRIVATE},
            tier=None,
            headers={"X-Api-Key": h.keys["pro"]},
        )
        assert ok.status_code == 200
        bearer = await h.post("/broadcasting/auth", {"socket_id": "1.2", "channel_name": PRIVATE})
        assert _error(bearer, 401) == "missing_key"


async def test_keys_are_verified_without_argon2(harness: Harness) -> None:
    for index in range(100):
        response = await harness.post(
            "/broadcasting/auth", {"socket_id": f"1.{index}", "channel_name": PRIVATE}, tier="pro"
        )
        assert response.status_code == 200
    assert harness.hasher.verify_count == 0


async def test_repeated_failures_turn_into_429_with_retry_after(harness: Harness) -> None:
    for _ in range(20):
        await harness.post(
            "/broadcasting/auth",
            {"socket_id": "1.2", "channel_name": PRIVATE},
            tier=None,
            headers={"Authorization": "Bearer wrong"},
        )
    response = await harness.post(
        "/broadcasting/auth", {"socket_id": "1.2", "channel_name": PRIVATE}, tier="pro"
    )
    assert _error(response, 429) == "too_many_failures"
    assert int(response.headers["retry-after"]) >= 1


async def test_a_successful_auth_records_which_key_authorised_the_socket(
    harness: Harness,
) -> None:
    await harness.post(
        "/broadcasting/auth", {"socket_id": "77.88", "channel_name": PRIVATE}, tier="pro"
    )
    grant = await harness.service.grants.lookup("77.88")
    pro = next(record for record in harness.store.list_all() if record.tier == "pro")
    assert grant is not None
    assert (grant.key_id, grant.tier, grant.max_connections) == (pro.key_id, "pro", 20)
    await harness.post("/broadcasting/user-auth", {"socket_id": "77.99"}, tier="free")
    signed_in = await harness.service.grants.lookup("77.99")
    assert signed_in is not None and signed_in.tier == "free"


async def test_refusals_record_no_grant(harness: Harness) -> None:
    await harness.post(
        "/broadcasting/auth", {"socket_id": "5.5", "channel_name": PRIVATE}, tier="free"
    )
    assert await harness.service.grants.lookup("5.5") is None


async def test_get_is_not_allowed(harness: Harness) -> None:
    assert (await harness.client.get("/broadcasting/auth")).status_code == 405


class _ExplodingStore(MemoryKeyStore):
    is_broken = False

    def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        if self.is_broken:
            raise RuntimeError("boom with details that must not leak")
        return {}


async def test_an_unexpected_error_is_a_generic_500(
    hasher: CountingHasher, clock: FakeClock
) -> None:
    store = _ExplodingStore()
    async for h in make_harness(hasher, clock, store=store):
        store.is_broken = True
        response = await h.post(
            "/broadcasting/auth", {"socket_id": "1.2", "channel_name": PRIVATE}, tier="pro"
        )
        assert response.status_code == 500
        assert response.json() == {"error": "internal error", "reason": "internal"}


async def test_revocation_takes_effect_within_the_stated_bound(harness: Harness) -> None:
    """Without Redis the bound is the cache TTL (AuthOptions.cache_ttl_s, 30 s by default)."""
    form = {"socket_id": "1.2", "channel_name": PRIVATE}
    assert (await harness.post("/broadcasting/auth", form, tier="pro")).status_code == 200
    pro = next(record for record in harness.store.list_all() if record.tier == "pro")
    revoked_at = datetime.fromtimestamp(harness.clock.time(), UTC)
    harness.store.put(dataclasses.replace(pro, revoked_at=revoked_at))
    bound_s = AuthOptions().cache_ttl_s
    harness.clock.advance(bound_s - 0.01)
    assert (await harness.post("/broadcasting/auth", form, tier="pro")).status_code == 200
    harness.clock.advance(0.01)
    assert _error(await harness.post("/broadcasting/auth", form, tier="pro"), 401) == "revoked_key"


async def test_logs_never_contain_keys_or_the_app_secret(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for tier in ("free", "pro", "enterprise"):
        for channel in (PRIVATE, PRESENCE, ENCRYPTED, "private-unknown", "bad name"):
            await harness.post(
                "/broadcasting/auth", {"socket_id": "1.2", "channel_name": channel}, tier=tier
            )
        await harness.post("/broadcasting/user-auth", {"socket_id": "1.2"}, tier=tier)
    wrong = harness.keys["pro"][:-4] + "0000"
    await harness.post(
        "/broadcasting/auth",
        {"socket_id": "1.2", "channel_name": PRIVATE},
        tier=None,
        headers={"Authorization": f"Bearer {wrong}"},
    )
    secrets = [*harness.keys.values(), wrong, APP_SECRET]
    secrets += [key.split(".", 1)[1] for key in harness.keys.values()]
    assert caplog.records  # something was logged, and none of it is secret
    leaked = [index for index, secret in enumerate(secrets) if secret in caplog.text]
    assert leaked == []  # indexes only, so a failure does not print the secret either


async def test_presence_identity_is_not_the_public_key_id(harness: Harness) -> None:
    """Issue 10 item 4: co-members must not learn a key id from ``channel_data`` or signin."""
    response = await harness.post(
        "/broadcasting/auth", {"socket_id": "123.456", "channel_name": PRESENCE}
    )
    record = next(r for r in harness.store.list_all() if r.tier == "enterprise")
    assert record.key_id not in response.json()["channel_data"]
    signin = await harness.post("/broadcasting/user-auth", {"socket_id": "123.456"})
    assert signin.status_code == 200
    assert record.key_id not in signin.json()["user_data"]
