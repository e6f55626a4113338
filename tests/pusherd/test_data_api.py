"""The data API composed on pusherd's port, as ``python -m pusherd`` runs it: keys made the CLI's
way, the embedded poller filling the cache and the match store, ``/api/v1`` beside the auth
endpoints (issue 11, "Done means")."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from auth.tiers import DATA_API_RESOURCES
from dataapi.access import Resource
from pusherd.app import build_app
from pusherd.clock import IdFactory, SystemClock
from pusherd.config import Settings
from pusherd.data_api import data_api_extension
from pusherd.embedded import auth_extension, poller_companion, scoreboard_routes
from tests.auth_server import POLICY, create_key
from tests.servers import RunningServer, make_settings


def test_the_policy_names_exactly_the_data_apis_resources() -> None:
    assert {r.value for r in Resource} == set(DATA_API_RESOURCES)


@contextlib.contextmanager
def data_api_server(directory: Path, database_url: str) -> Iterator[RunningServer]:
    policy_file = directory / "policy.toml"
    policy_file.write_text(POLICY)
    environ = {
        "DATABASE_URL": database_url,
        "AUTH_POLICY_FILE": str(policy_file),
        "POLLER_SPORTS": "football",
        "PUSHERD_DEMO_SPEED": "30",
    }
    with contextlib.ExitStack() as resources:

        def app(settings: Settings) -> Starlette:
            clock, rng = SystemClock(), random.Random()
            auth = auth_extension(environ, settings, clock=clock, rng=rng, resources=resources)
            data = data_api_extension(
                environ,
                settings,
                verifier=auth.verifier,
                policy=auth.policy,
                clock=clock,
                resources=resources,
                sports=("football",),
            )
            poller = poller_companion(
                environ,
                settings,
                cache=data.cache,
                recorder=data.recorder,
                retention_s=data.retention_s,
            )
            return build_app(
                settings,
                clock=clock,
                ids=IdFactory(rng),
                rng=rng,
                companions=(auth.companion, data.companion, poller),
                # As __main__ orders them: the scoreboard page answers every other GET.
                mounts=(data.mount, *scoreboard_routes(environ, settings), auth.mount),
                key_quota=auth.key_quota,
            )

        running = RunningServer(make_settings(), app_factory=app).start()
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pusherd.sqlite3'}"


async def _until(client: httpx.AsyncClient, path: str, check: Any) -> httpx.Response:
    async with asyncio.timeout(10):
        while True:
            response = await client.get(path)
            if check(response):
                return response
            await asyncio.sleep(0.1)


async def test_a_key_holder_reads_live_matches_and_a_timeline_on_pusherds_port(
    tmp_path: Path, database_url: str
) -> None:
    key = create_key(database_url, tier="pro", name="Ada")
    with data_api_server(tmp_path, database_url) as server:
        async with httpx.AsyncClient(
            base_url=f"{server.http_url}/api/v1", headers={"Authorization": f"Bearer {key}"}
        ) as client:
            live = await _until(
                client,
                "/sports/football/matches/live",
                lambda r: r.status_code == 200 and r.json()["data"],
            )
            assert live.headers["ratelimit-limit"] == "600"
            match_id = live.json()["data"][0]["match_id"]
            detail = await client.get(f"/sports/football/matches/{match_id}")
            assert detail.status_code == 200, detail.text
            assert detail.json()["data"]["match_id"] == match_id
            assert isinstance(detail.json()["data"]["events"], list)  # recorded in SQL
            repeat = await client.get(
                "/sports", headers={"If-None-Match": (await client.get("/sports")).headers["etag"]}
            )
            assert repeat.status_code == 304
            anonymous = await client.get("/sports", headers={"Authorization": ""})
            assert anonymous.status_code == 401
        async with httpx.AsyncClient(base_url=server.http_url) as plain:
            # The auth endpoints still answer beside the data API.
            answer = await plain.post("/broadcasting/auth", data={})
            assert answer.status_code in (401, 422)
