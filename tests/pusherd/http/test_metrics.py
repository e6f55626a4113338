"""Who may read ``GET /metrics`` (issue 10, item 12): a bearer token when one is configured,
loopback clients otherwise. Before the fix anyone who could reach the port read them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from pusherd.config import Secret
from pusherd.http.metrics import METRICS_STATE_KEY, MetricsAccess, metrics
from tests.conftest import StartPusherd

TOKEN = "scrape-8d1f0c2a"


def _metrics_app(token: str | None) -> Starlette:
    """The real endpoint in a minimal app, so a test can choose the client's address."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, MetricsAccess]]:
        access = MetricsAccess(CollectorRegistry(), Secret(token) if token else None)
        yield {METRICS_STATE_KEY: access}

    return Starlette(routes=[Route("/metrics", metrics)], lifespan=lifespan)


async def _get(
    app: Starlette, client: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """One GET from ``client``, with the lifespan state as uvicorn would pass it."""
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state, client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://pusherd") as http:
            return await http.get("/metrics", headers=headers)


@pytest.mark.parametrize("client", ["127.0.0.1", "127.8.9.10", "::1"])
async def test_without_a_token_loopback_clients_are_served(client: str) -> None:
    response = await _get(_metrics_app(None), client)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("client", ["203.0.113.9", "10.0.0.1", "::ffff:203.0.113.9", "testclient"])
async def test_without_a_token_other_clients_get_403(client: str) -> None:
    response = await _get(_metrics_app(None), client)
    assert response.status_code == 403
    assert response.json() == {"error": "Metrics are served to loopback clients only"}


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "]
)
@pytest.mark.parametrize("client", ["127.0.0.1", "203.0.113.9"])
async def test_with_a_token_a_missing_or_wrong_one_is_401(
    client: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else None
    response = await _get(_metrics_app(TOKEN), client, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in response.text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
async def test_with_a_token_the_right_one_is_served_from_anywhere(scheme: str) -> None:
    response = await _get(
        _metrics_app(TOKEN), "203.0.113.9", {"Authorization": f"{scheme} {TOKEN}"}
    )
    assert response.status_code == 200


async def test_live_server_with_a_token(start_pusherd: StartPusherd) -> None:
    server = await start_pusherd(metrics_token=Secret(TOKEN))
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.get("/metrics")).status_code == 401
        authorized = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert authorized.status_code == 200
    assert "pusherd_event_loop_lag_seconds " in authorized.text
