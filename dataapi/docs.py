"""``/api/v1/docs``: a readable reference page over ``/api/v1/openapi.json`` (issue 11 item 8).

The page and its assets are built by the scoreboard's npm build (``clients/js-example``: the
pinned ``swagger-ui-dist`` bundle copied into ``dist/api-docs/``), never fetched from a CDN at
run time: a key holder's browser loads nothing from any origin but this server's, and the
Content-Security-Policy says so. Public, like the document it renders. Without a build the page
answers 503 with the command that builds it (the API itself works without it).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from dataapi.errors import NotFound, Unavailable

__all__ = ["DOCS_BUILD_COMMAND", "DOCS_CSP", "docs_routes"]

DOCS_BUILD_COMMAND = (
    "npm ci --prefix clients/js-example && npm run --prefix clients/js-example build"
)
#: Same origin only. Swagger UI sets inline styles and shows inline SVG/data: images.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
#: The files the page may load (everything else under /docs/ is a 404).
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "init.js": "text/javascript; charset=utf-8",
}
_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=300",
}


def docs_routes(docs_dir: Path) -> list[Route]:
    """``/docs`` and its assets from ``docs_dir`` (checked per request: build while running).

    Refusals are raised as problems (404 for an unknown asset, 503 without a build); the app's
    exception handler renders them.
    """

    async def page(request: Request) -> Response:
        index = docs_dir / "index.html"
        if not index.is_file():
            raise Unavailable(f"the docs page is not built: {DOCS_BUILD_COMMAND}")
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = _ASSETS.get(name)
        path = docs_dir / name
        if media_type is None:
            raise NotFound(f"no such resource: /docs/{name}")
        if not path.is_file():
            raise Unavailable(f"the docs page is not built: {DOCS_BUILD_COMMAND}")
        return FileResponse(path, media_type=media_type, headers=_HEADERS)

    return [
        Route("/docs", page, methods=["GET"], name="docs"),
        Route("/docs/{name}", asset, methods=["GET"], name="docs-asset"),
    ]
