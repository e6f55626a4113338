"""The fake upstream answers like API-Sports: routing, envelope quirks, errors, quota headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from poller.simulator.app import Simulator
from tests.poller.conftest import FREE_KEY, PAID_KEY, RAPID_KEY


@pytest.fixture
async def client(sim_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim_url) as http:
        yield http


async def get(
    client: httpx.AsyncClient, path: str, key: str = PAID_KEY, **headers: str
) -> tuple[httpx.Response, Any]:
    response = await client.get(path, headers={"x-apisports-key": key, **headers})
    return response, response.json()


async def test_direct_host_header_routing_and_empty_parameters_as_list(
    client: httpx.AsyncClient,
) -> None:
    response, body = await get(client, "/timezone", host="v3.football.api-sports.io")
    assert response.status_code == 200 and body["parameters"] == [] and body["errors"] == []
    assert body["get"] == "timezone" and body["paging"] == {"current": 1, "total": 1}


async def test_rapidapi_host_routing_requires_both_headers(client: httpx.AsyncClient) -> None:
    headers = {
        "x-rapidapi-key": RAPID_KEY,
        "x-rapidapi-host": "api-football-v1.p.rapidapi.com",
        "host": "api-football-v1.p.rapidapi.com",
    }
    ok = await client.get("/v3/fixtures", params={"live": "all"}, headers=headers)
    assert ok.status_code == 200 and "x-ratelimit-requests-reset" in ok.headers
    missing_v3 = await client.get("/fixtures", params={"live": "all"}, headers=headers)
    assert missing_v3.status_code == 404
    assert missing_v3.json() == {"message": "Endpoint '/fixtures' does not exist"}
    wrong_host = await client.get(
        "/v3/fixtures", params={"live": "all"}, headers={**headers, "x-rapidapi-host": "other"}
    )
    assert wrong_host.status_code == 403


async def test_status_is_free_and_has_no_quota_headers(
    client: httpx.AsyncClient, simulator: Simulator
) -> None:
    response, body = await get(client, "/football/status")
    assert body["response"]["requests"]["limit_day"] == 7_500
    assert "x-ratelimit-requests-remaining" not in response.headers
    assert simulator.calls() == []


@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("/football/fixtures/lineup?fixture=1", "endpoint", "This endpoint do not exist."),
        ("/football/fixtures?live=all&page=2", "page", "The Page field do not exist."),
        ("/football/fixtures/events", "required", "At least one parameter is required."),
        (
            "/football/fixtures?league=90010&date=2026-10-03",
            "season",
            "The Season field is required.",
        ),
        (
            "/football/fixtures?ids=" + "-".join(str(i) for i in range(21)),
            "ids",
            "Maximum of 20 ids allowed.",
        ),
    ],
)
async def test_logical_errors_are_http_200_with_an_errors_object(
    client: httpx.AsyncClient, path: str, field: str, message: str
) -> None:
    response, body = await get(client, path)
    assert response.status_code == 200 and body["errors"] == {field: message}
    assert body["response"] == [] and body["results"] == 0


async def test_quota_headers_count_down_per_sport_host(client: httpx.AsyncClient) -> None:
    first, _ = await get(client, "/football/fixtures?live=all", key=FREE_KEY)
    second, _ = await get(client, "/football/fixtures?live=all", key=FREE_KEY)
    other, _ = await get(client, "/baseball/games?date=2026-10-03", key=FREE_KEY)
    assert first.headers["x-ratelimit-requests-remaining"] == "99"
    assert second.headers["x-ratelimit-requests-remaining"] == "98"
    assert second.headers["X-RateLimit-Remaining"] == "8"
    assert other.headers["x-ratelimit-requests-remaining"] == "99"


async def test_identical_calls_in_one_publish_cycle_return_identical_bodies(
    client: httpx.AsyncClient,
) -> None:
    first, _ = await get(client, "/football/fixtures?live=all")
    second, _ = await get(client, "/football/fixtures?live=all")
    assert first.content == second.content


async def test_fixture_events_endpoint_and_date_list(client: httpx.AsyncClient) -> None:
    _, events = await get(client, "/football/fixtures/events?fixture=990101")
    assert events["get"] == "fixtures/events" and events["parameters"] == {"fixture": "990101"}
    _, day = await get(client, "/football/fixtures?date=2026-10-03&timezone=UTC")
    shorts = [item["fixture"]["status"]["short"] for item in day["response"]]
    assert len(shorts) == 6 and "PST" in shorts and "events" not in day["response"][0]
