"""The demo scoreboard page (``clients/js-example``) served on pusherd's own port.

Two things, as Starlette routes: ``GET /demo/config.json``, the connection settings the page reads
at start (so one build works on any host and port), and the built ``dist/`` folder at ``/``.

The page is built by its own npm step and never committed (``npm run build`` in
``clients/js-example``). When ``dist/`` is missing the site answers with a page that says how to
build it (503) and JSON 404s, instead of a bare error.

Routing: ``/`` is a catch-all prefix, so the static mount answers only ``GET`` and ``HEAD``; any
other method is a partial match that a later route (the auth service's ``POST
/broadcasting/auth``, mounted at ``/`` too) takes first. Place these routes after the HTTP API and
*before* any other catch-all mount.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

__all__ = ["BUILD_COMMAND", "CONFIG_PATH", "REQUIRED_CONFIG_KEYS", "site_routes"]

CONFIG_PATH = "/demo/config.json"
#: What the page cannot start without; ``wsHost``/``wsPort`` may be ``None`` ("the page's own").
REQUIRED_CONFIG_KEYS = ("key", "wsHost", "wsPort", "authEndpoint", "sports")
BUILD_COMMAND = "npm ci --prefix clients/js-example && npm run --prefix clients/js-example build"
_READ_METHODS = frozenset({"GET", "HEAD"})


class _ReadOnlyMount(Mount):
    """A mount that fully matches only ``GET``/``HEAD``, like a ``Route(methods=[...])``.

    Anything else is a partial match: the router keeps looking and uses this mount (whose static
    files answer 405) only when no later route matches fully.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        match, child_scope = super().matches(scope)
        if match is Match.FULL and scope["method"] not in _READ_METHODS:
            return Match.PARTIAL, child_scope
        return match, child_scope


class _Site:
    """ASGI app: ``dist/`` as static files while it is built, a how-to-build answer while not.

    Checked per request, so building the page while pusherd runs needs no restart.
    """

    def __init__(self, dist_dir: Path) -> None:
        self._dist_dir = dist_dir
        self._static = StaticFiles(directory=dist_dir, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self._dist_dir / "index.html").is_file():
            await self._static(scope, receive, send)
            return
        await _missing_build(scope, self._dist_dir)(scope, receive, send)


def _missing_build(scope: Scope, dist_dir: Path) -> Response:
    if scope.get("path", "/") in ("/", "/index.html"):
        body = (
            "<!doctype html><html lang='en'><meta charset='utf-8'>"
            "<title>pusherd: scoreboard not built</title>"
            "<h1>The scoreboard page is not built</h1>"
            f"<p>pusherd serves it from <code>{html.escape(str(dist_dir))}</code>, which has no "
            "<code>index.html</code>. Build it from the repository root with:</p>"
            f"<pre>{html.escape(BUILD_COMMAND)}</pre>"
            "<p>(<code>make run</code> does this when it is missing.) The WebSocket and HTTP API "
            "work without it.</p></html>"
        )
        return HTMLResponse(body, status_code=503)
    return JSONResponse(
        {"error": f"not found (the scoreboard page is not built: {BUILD_COMMAND})"},
        status_code=404,
    )


def site_routes(*, dist_dir: Path, client_config: Mapping[str, object]) -> list[BaseRoute]:
    """The page's routes: ``GET /demo/config.json`` and ``dist_dir`` at ``/`` (GET/HEAD only).

    Args:
        dist_dir: the built page (``clients/js-example/dist``); it may not exist yet.
        client_config: the JSON the page reads: ``key`` (the app key), ``wsHost`` and ``wsPort``
            (``None``: the host and port the page was loaded from), ``authEndpoint``
            (``/broadcasting/auth``), ``sports`` (list of sport slugs, e.g. ``["football"]``);
            optional extras such as ``wsPath`` are passed through unchanged.

    Raises:
        ValueError: ``client_config`` lacks one of :data:`REQUIRED_CONFIG_KEYS`, or ``sports``
            is not a list of strings.
    """
    missing = [name for name in REQUIRED_CONFIG_KEYS if name not in client_config]
    if missing:
        raise ValueError(f"client_config lacks {', '.join(missing)}")
    sports = client_config["sports"]
    if not isinstance(sports, list | tuple) or not all(isinstance(s, str) for s in sports):
        raise ValueError(f"client_config sports must be a list of strings, not {sports!r}")
    config: dict[str, Any] = {**client_config, "sports": list(sports)}

    async def demo_config(_request: Request) -> Response:
        # no-store: the same URL may front another pusherd (port, key) after a restart.
        return JSONResponse(config, headers={"Cache-Control": "no-store"})

    return [
        Route(CONFIG_PATH, demo_config, methods=["GET"], name="demo_config"),
        _ReadOnlyMount("/", app=_Site(dist_dir), name="demo_site"),
    ]
