"""OpenAPI 3.1 at ``/api/v1/openapi.json``: a valid document, generated from the route table, that
real responses (from the simulated upstream's data) conform to (issue 11 item 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from sqlalchemy.engine import Engine
from starlette.routing import Mount, Route

from dataapi.routes import ROUTES
from poller.cache import MemoryCache
from poller.clock import FakeClock
from tests.dataapi.helpers import LEAGUE, Harness, record_day
from tests.poller.conftest import SAMPLE_DAY


@pytest.fixture
async def api(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, engine: Engine
) -> AsyncIterator[Harness]:
    cache = MemoryCache(clock=fake_clock)
    await record_day(sim_url, http, fake_clock, engine, SAMPLE_DAY + 12 * 3600 + 50 * 60, cache)
    yield Harness.build(engine=engine, cache=cache, clock=fake_clock)


def _conforms(document: dict[str, Any], schema: dict[str, Any], body: Any) -> None:
    OAS31Validator({**schema, "components": document["components"]}).validate(body)


async def test_the_document_is_valid_and_describes_every_route(api: Harness) -> None:
    async with api.client() as client:  # no key: the reference is public
        response = await client.get("/openapi.json")
        assert response.status_code == 200 and response.headers["etag"]
        document = response.json()
        again = await client.get(
            "/openapi.json", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304
    validate(document)
    mount = next(r for r in api.app.routes if isinstance(r, Mount))
    served = {r.path for r in mount.routes if isinstance(r, Route)} - {"/openapi.json"}
    assert set(document["paths"]) == served == {spec.path for spec in ROUTES}


async def test_real_answers_conform_to_their_schemas(api: Harness) -> None:
    async with api.client(api.keys["enterprise"]) as client:
        document = (await client.get("/openapi.json")).json()
        league = f"/sports/football/leagues/{LEAGUE}"
        concrete = {
            "/sports": "/sports",
            "/sports/{sport}/leagues": "/sports/football/leagues",
            "/sports/{sport}/leagues/{league}/standings": f"{league}/standings",
            "/matches/live": "/matches/live",
            "/sports/{sport}/matches/live": "/sports/football/matches/live",
            "/sports/{sport}/leagues/{league}/matches": f"{league}/matches?date=2026-10-03",
            "/sports/{sport}/matches/{id}": "/sports/football/matches/990101",
            "/sports/{sport}/teams/{id}/matches": (
                "/sports/football/teams/90101/matches?from=2026-10-01&to=2026-10-03"
            ),
        }
        assert set(concrete) == set(document["paths"])
        for template, path in concrete.items():
            response = await client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.json()["data"], path  # real data, not an empty shell
            operation = document["paths"][template]["get"]
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            _conforms(document, schema, response.json())
        for path, status in (
            ("/sports?limit=0", "422"),
            ("/sports/football/matches/1", "404"),
            ("/sports/curling/leagues", "404"),
        ):
            response = await client.get(path)
            assert str(response.status_code) == status
            problem = document["paths"]["/sports"]["get"]["responses"][status]["content"]
            _conforms(document, problem["application/problem+json"]["schema"], response.json())


def test_a_key_the_code_adds_without_the_model_fails_the_schema() -> None:
    """The schemas are closed, so drift between code and document cannot pass silently."""
    from dataapi.openapi import openapi_document

    document = openapi_document(ROUTES)
    team = {"id": 1, "name": "A", "score": None}
    _conforms(document, {"$ref": "#/components/schemas/Team"}, team)
    with pytest.raises(Exception, match="Additional properties"):
        _conforms(document, {"$ref": "#/components/schemas/Team"}, team | {"colour": "red"})
