"""The demo page's routes: ``/demo/config.json``, the built ``dist/`` at ``/``, a clear answer
when it is not built, and a ``/`` mount that leaves other methods to the auth mount after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Mount, Route

from pusherd.site import BUILD_COMMAND, CONFIG_PATH, site_routes

CONFIG: dict[str, object] = {
    "key": "pusherd-key",
    "wsHost": None,
    "wsPort": None,
    "authEndpoint": "/broadcasting/auth",
    "sports": ["football", "basketball"],
}


async def _auth_endpoint(request: Request) -> JSONResponse:
    return JSONResponse({"auth": "signed"})


#: Stands for the auth service, which pusherd mounts at "/" (its app answers every path).
AUTH_LIKE = Mount(
    "/",
    app=Starlette(routes=[Route("/broadcasting/auth", _auth_endpoint, methods=["POST"])]),
)


def _build(dist: Path) -> None:
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text("<!doctype html><title>scoreboard</title>")
    (dist / "app.js").write_text("console.log('scoreboard');")


def _client(routes: list[BaseRoute]) -> httpx.AsyncClient:
    app = Starlette(routes=routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def built(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    _build(tmp_path / "dist")
    routes = site_routes(dist_dir=tmp_path / "dist", client_config=CONFIG)
    async with _client([*routes, AUTH_LIKE]) as client:
        yield client


async def test_config_is_the_client_config_uncached(built: httpx.AsyncClient) -> None:
    response = await built.get(CONFIG_PATH)
    assert response.status_code == 200
    assert response.json() == CONFIG
    assert response.headers["cache-control"] == "no-store"


async def test_config_passes_extra_keys_through(tmp_path: Path) -> None:
    config = {**CONFIG, "wsPath": "/ws", "sports": ("football",)}
    async with _client(site_routes(dist_dir=tmp_path, client_config=config)) as client:
        body = (await client.get(CONFIG_PATH)).json()
    assert body["wsPath"] == "/ws"
    assert body["sports"] == ["football"]


async def test_root_serves_the_built_index(built: httpx.AsyncClient) -> None:
    response = await built.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>scoreboard</title>" in response.text


async def test_assets_are_served_and_head_works(built: httpx.AsyncClient) -> None:
    assert (await built.get("/app.js")).text == "console.log('scoreboard');"
    assert (await built.head("/app.js")).status_code == 200


async def test_unknown_file_is_404(built: httpx.AsyncClient) -> None:
    assert (await built.get("/no-such-file.js")).status_code == 404


async def test_other_methods_fall_through_to_the_auth_mount(built: httpx.AsyncClient) -> None:
    """pusher-js POSTs /broadcasting/auth: the "/" static mount must not swallow it."""
    response = await built.post("/broadcasting/auth", data={"socket_id": "1.2"})
    assert response.status_code == 200
    assert response.json() == {"auth": "signed"}


async def test_other_methods_with_nothing_after_are_405(tmp_path: Path) -> None:
    _build(tmp_path / "dist")
    async with _client(site_routes(dist_dir=tmp_path / "dist", client_config=CONFIG)) as client:
        assert (await client.post("/")).status_code == 405


async def test_missing_build_says_how_to_build(tmp_path: Path) -> None:
    routes = site_routes(dist_dir=tmp_path / "dist", client_config=CONFIG)
    async with _client(routes) as client:
        page = await client.get("/")
        asset = await client.get("/app.js")
        config = await client.get(CONFIG_PATH)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "not built" in page.text
    assert "npm run --prefix clients/js-example build" in page.text
    assert asset.status_code == 404
    assert BUILD_COMMAND in asset.json()["error"]
    assert config.status_code == 200  # the page's settings do not depend on the build


async def test_a_build_made_while_running_is_served(tmp_path: Path) -> None:
    routes = site_routes(dist_dir=tmp_path / "dist", client_config=CONFIG)
    async with _client(routes) as client:
        assert (await client.get("/")).status_code == 503
        _build(tmp_path / "dist")
        assert (await client.get("/")).status_code == 200


def test_static_mount_never_matches_websockets(tmp_path: Path) -> None:
    mount = site_routes(dist_dir=tmp_path, client_config=CONFIG)[-1]
    scope = {"type": "websocket", "path": "/app/key", "root_path": ""}
    assert mount.matches(scope)[0] is Match.NONE


@pytest.mark.parametrize("missing", ["key", "wsHost", "wsPort", "authEndpoint", "sports"])
def test_config_without_a_required_key_is_refused(tmp_path: Path, missing: str) -> None:
    config = {name: value for name, value in CONFIG.items() if name != missing}
    with pytest.raises(ValueError, match=missing):
        site_routes(dist_dir=tmp_path, client_config=config)


@pytest.mark.parametrize("sports", ["football", [1, 2], None])
def test_sports_must_be_a_list_of_strings(tmp_path: Path, sports: object) -> None:
    with pytest.raises(ValueError, match="sports"):
        site_routes(dist_dir=tmp_path, client_config={**CONFIG, "sports": sports})
