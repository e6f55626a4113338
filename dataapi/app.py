"""``/api/v1``: the route table and the one path every request takes through it.

Per request, cheapest refusal first: the key from the headers (401), its verification through
the auth service (401/429/503), the tier's token bucket (429, one Redis round trip), the tier's
resources (403), then the resource itself (422/404, or 200/304). Every answer carries the
rate-limit fields once the key is known, ``Cache-Control``, and a problem body for every 4xx and
5xx (RFC 9457). Mounted by ``pusherd.embedded`` on pusherd's port; works alone too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dataapi.access import KeyVerifier, check_resource, presented_key
from dataapi.dispatch import FastDispatch
from dataapi.docs import docs_routes
from dataapi.errors import (
    DataApiProblem,
    InternalError,
    MethodNotAllowed,
    NotFound,
    TooManyRequests,
)
from dataapi.freshness import RawHeaders, Representation, json_response
from dataapi.ondemand import stale_headers
from dataapi.openapi import openapi_document
from dataapi.ratelimit import RateLimiter, RawRateHeaders
from dataapi.resources import Body, DataResources
from dataapi.routes import ROUTES, RouteSpec
from dataapi.usage import UsageCounter

__all__ = ["OPENAPI_PATH", "PROBLEM_MEDIA_TYPE", "build_data_api"]

logger = logging.getLogger("dataapi.app")
PROBLEM_MEDIA_TYPE = "application/problem+json"
OPENAPI_PATH = "/openapi.json"

Handler = Callable[..., Awaitable[Body]]


def problem_response(problem: DataApiProblem, headers: Mapping[str, str]) -> Response:
    return Response(
        problem.to_body(),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**headers, **problem.headers(), "Cache-Control": "no-store"},
    )


#: The request headers the gate reads; every other header is skipped unread.
_WANTED = {
    b"authorization": "authorization",
    b"x-api-key": "x-api-key",
    b"if-none-match": "if-none-match",
    b"accept-encoding": "accept-encoding",
}
_PROBLEM_TYPE = (b"content-type", PROBLEM_MEDIA_TYPE.encode())
_NO_STORE = (b"cache-control", b"no-store")


def _headers_of(scope: Scope) -> dict[str, str]:
    """The few headers the gate reads (first occurrence wins, as in Starlette's ``Headers``)."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        wanted = _WANTED.get(name.lower())
        if wanted is not None and wanted not in found:
            found[wanted] = value.decode("latin-1")
    return found


def _query_of(scope: Scope) -> dict[str, str]:
    raw: bytes = scope.get("query_string", b"")
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}


def _encode(headers: Mapping[str, str]) -> RawHeaders:
    return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]


class _Gate:
    """Authentication, rate limit and tier check in front of one resource method.

    A raw ASGI app (Starlette's ``Route`` runs it as one): no ``Request``/``Response`` objects on
    the hot path, only the headers it reads, and the body, tag and header lines of an unchanged
    payload reused from the last request (:class:`~dataapi.freshness.Representation`).
    """

    def __init__(
        self,
        spec: RouteSpec,
        handler: Handler,
        *,
        verifier: KeyVerifier,
        limiter: RateLimiter,
        usage: UsageCounter | None,
    ) -> None:
        self._spec = spec
        self.name = spec.name
        self._handler = handler
        self._verifier = verifier
        self._limiter = limiter
        self._usage = usage
        self._last: tuple[Body, Representation] | None = None
        self._rate_headers = RawRateHeaders()
        self._quoted: dict[str, str] = {}

    def _representation(self, body: Body) -> Representation:
        last = self._last
        if last is not None and last[0] is body:
            return last[1]
        representation = Representation(orjson.dumps(body.payload), body.max_age_s)
        self._last = (body, representation)
        return representation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key_id: str | None = None
        rate: RawHeaders = []
        headers = _headers_of(scope)
        try:
            query = _query_of(scope)
            presented = presented_key(headers, query)
            client = scope.get("client")
            identity = await self._verifier.identify(
                presented, client_address=client[0] if client else "unknown"
            )
            key_id = identity.key_id
            decision = await self._limiter.take(identity.key_id, identity.requests_per_minute)
            rate = self._rate_headers(decision, identity.tier)
            if not decision.is_allowed:
                raise TooManyRequests(
                    f"tier {identity.tier!r} allows {decision.limit} requests a minute",
                    retry_after_s=decision.retry_after_s,
                )
            check_resource(identity, self._spec.resource)
            # The scope's full path (a mount keeps it whole), quoted for the ``next`` links.
            path = self._quoted.get(scope["path"])
            if path is None:
                if len(self._quoted) >= 1024:
                    self._quoted.clear()
                path = self._quoted[scope["path"]] = quote(scope["path"], safe="/")
            body = await self._handler(path, query, identity, **scope.get("path_params", {}))
            status, head, content = self._representation(body).answer(
                headers.get("if-none-match"), headers.get("accept-encoding", "")
            )
            head = rate + head
            if body.stale_s is not None:  # served while the upstream is down: say how stale
                head += _encode(stale_headers(body.stale_s))
        except DataApiProblem as problem:
            status, head, content = _problem(problem, rate)
        except Exception:
            logger.exception("data API handler failed on %s", self._spec.path)
            status, head, content = _problem(
                InternalError("the request could not be answered"), rate
            )
        if key_id is not None and self._usage is not None:
            self._usage.count(key_id, self._spec.name, status=status, body_bytes=len(content))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": content})


def _problem(problem: DataApiProblem, rate: RawHeaders) -> tuple[int, RawHeaders, bytes]:
    content = problem.to_body()
    head = [
        *rate,
        *_encode(problem.headers()),
        _NO_STORE,
        _PROBLEM_TYPE,
        (b"content-length", str(len(content)).encode()),
    ]
    return problem.status, head, content


async def _problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DataApiProblem)
    return problem_response(exc, {})


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return problem_response(MethodNotAllowed("the data API is read-only"), {})
    return problem_response(NotFound(f"no such resource: {request.url.path}"), {})


def build_data_api(
    *,
    resources: DataResources,
    verifier: KeyVerifier,
    limiter: RateLimiter,
    usage: UsageCounter | None = None,
    docs_dir: Path | None = None,
) -> FastDispatch:
    """The ``/api/v1`` app (mount it there; ``next`` links follow the request's own path).

    ``usage`` counts every answer to a known key; its owner runs ``usage.running()``.
    ``docs_dir``: the built reference page (``dist/api-docs``), served at ``/docs``.
    """
    gates = [
        (
            spec.path,
            _Gate(
                spec,
                getattr(resources, spec.name),
                verifier=verifier,
                limiter=limiter,
                usage=usage,
            ),
        )
        for spec in ROUTES
    ]
    routes = [
        Route(path, gate, methods=["GET"], name=f"{gate.name}:{path}") for path, gate in gates
    ]
    document = orjson.dumps(openapi_document(ROUTES))

    async def openapi(request: Request) -> Response:
        """Public, like any API reference: no key needed to read what the keys unlock."""
        return json_response(document, request_headers=request.headers, max_age_s=3600, headers={})

    routes.append(Route(OPENAPI_PATH, openapi, methods=["GET"], name="openapi"))
    if docs_dir is not None:
        routes += docs_routes(docs_dir)
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _not_found,
        DataApiProblem: _problem_handler,
    }
    return FastDispatch(gates, Starlette(routes=routes, exception_handlers=handlers))
