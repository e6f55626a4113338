"""What the HTTP API handlers share, and the one path every signed request takes in."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response

from pusherd.adapters.base import Adapter
from pusherd.clock import Clock
from pusherd.config import AppConfig
from pusherd.http.auth import check_query, query_params, verify_signed_request
from pusherd.http.body import read_body
from pusherd.protocol.errors import ApiError
from pusherd.publisher import EventPublisher

__all__ = ["HTTP_STATE_KEY", "HttpContext", "SignedRequest", "api_endpoint", "json_response"]

logger = logging.getLogger("pusherd.http")

#: Key of the :class:`HttpContext` in the lifespan state (Starlette copies it to request.state).
HTTP_STATE_KEY = "pusherd_http"


@dataclass(frozen=True, slots=True)
class HttpContext:
    apps_by_id: dict[str, AppConfig]
    apps_by_key: dict[str, AppConfig]
    adapter: Adapter
    publisher: EventPublisher
    clock: Clock
    max_body_bytes: int = 1_048_576


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature held: its app, query parameters and raw body."""

    context: HttpContext
    app: AppConfig
    params: dict[str, str]
    body: bytes
    path_params: dict[str, str]

    def json_body(self) -> dict[str, object]:
        """The body as a JSON object, or a 400 saying why not."""
        try:
            decoded = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise ApiError(400, "Request body is not valid JSON") from None
        if not isinstance(decoded, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return decoded


def json_response(content: object, status: int = 200) -> Response:
    """JSON with ``Content-Type: application/json``, as every SDK expects (§9.1)."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def _error_response(error: ApiError) -> Response:
    # No "Connection: close" even when the body is left unread: closing a socket with unread
    # input sends a reset, which can destroy the answer before the client reads it. uvicorn
    # discards the rest of the body instead, and the front door's body deadline bounds that.
    return Response(error.to_body(), status_code=error.status, media_type="application/json")


async def _authenticate(
    request: Request,
    context: HttpContext,
    app: AppConfig,
    params: list[tuple[str, str]],
    now: float,
) -> SignedRequest:
    body = await read_body(request, context.max_body_bytes)
    raw_path = request.scope.get("raw_path")
    paths: list[str] = [request.url.path]
    if isinstance(raw_path, bytes):
        as_sent = raw_path.decode("latin-1").split("?", 1)[0]
        if as_sent != paths[0]:
            paths.insert(0, as_sent)
    verify_signed_request(
        app=app,
        method=request.method,
        paths=paths,
        params=params,
        body=body,
        now=now,
    )
    if not app.enabled:
        raise ApiError(403, "Application disabled")
    values = {name: value for name, value in params}
    return SignedRequest(context, app, values, body, dict(request.path_params))


Handler = Callable[[SignedRequest], Awaitable[Response]]


def _find_app(request: Request, context: HttpContext, *, app_from_key: bool) -> AppConfig:
    if app_from_key:
        app = context.apps_by_key.get(request.query_params.get("auth_key", ""))
        if app is None:
            raise ApiError(404, "No app has that auth_key")
        return app
    app_id = request.path_params["app_id"]
    found = context.apps_by_id.get(app_id)
    if found is None:
        raise ApiError(404, f"The app {app_id[:40]} could not be found")
    return found


def api_endpoint(
    handler: Handler, *, app_from_key: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: find the app, verify the signature, render ApiErrors as JSON.

    Apps are found by the ``{app_id}`` path parameter, or by ``auth_key`` for the Python SDK's
    unprefixed ``/users/{id}/terminate_connections`` (§9.7).
    """

    async def endpoint(request: Request) -> Response:
        context: HttpContext = getattr(request.state, HTTP_STATE_KEY)
        try:
            app = _find_app(request, context, app_from_key=app_from_key)
            params = query_params(request.scope.get("query_string", b""))
            now = context.clock.time()
            # Key, version and timestamp first: an unsigned or stale request is refused unread.
            check_query(app=app, params=params, now=now)
        except ApiError as error:
            return _error_response(error)
        try:
            signed = await _authenticate(request, context, app, params, now)
            return await handler(signed)
        except ApiError as error:
            return _error_response(error)
        except Exception:
            logger.exception("HTTP API handler failed")
            return _error_response(ApiError(500, "Internal server error"))

    return endpoint


def parse_info(value: str | None, allowed: Sequence[str]) -> tuple[str, ...]:
    """The ``info`` attribute list; unknown attribute names are a 400."""
    if not value:
        return ()
    attributes = tuple(part.strip() for part in value.split(",") if part.strip())
    for attribute in attributes:
        if attribute not in allowed:
            raise ApiError(400, f"Unknown info attribute '{attribute[:40]}'")
    return attributes
