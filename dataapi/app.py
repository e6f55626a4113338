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
from typing import Any
from urllib.parse import quote

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dataapi.access import KeyVerifier, check_resource, presented_key
from dataapi.errors import (
    DataApiProblem,
    InternalError,
    MethodNotAllowed,
    NotFound,
    TooManyRequests,
)
from dataapi.freshness import json_response
from dataapi.ondemand import stale_headers
from dataapi.openapi import openapi_document
from dataapi.ratelimit import RateLimiter, rate_headers
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


class _Gate:
    """Authentication, rate limit and tier check in front of one resource method."""

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
        self._handler = handler
        self._verifier = verifier
        self._limiter = limiter
        self._usage = usage

    async def handle(self, request: Request) -> Response:
        key_id: str | None = None
        headers: dict[str, str] = {}
        try:
            presented = presented_key(request.headers, request.query_params)
            client = request.client.host if request.client is not None else "unknown"
            identity = await self._verifier.identify(presented, client_address=client)
            key_id = identity.key_id
            decision = await self._limiter.take(identity.key_id, identity.requests_per_minute)
            headers = rate_headers(decision, identity.tier)
            if not decision.is_allowed:
                raise TooManyRequests(
                    f"tier {identity.tier!r} allows {decision.limit} requests a minute",
                    retry_after_s=decision.retry_after_s,
                )
            check_resource(identity, self._spec.resource)
            # The scope's full path (a mount keeps it whole), quoted for the ``next`` links:
            # cheaper than building ``request.url`` on every request.
            path = quote(request.scope["path"], safe="/")
            body = await self._handler(
                path, dict(request.query_params), identity, **request.path_params
            )
            response = json_response(
                orjson.dumps(body.payload),
                request_headers=request.headers,
                max_age_s=body.max_age_s,
                headers=headers if body.stale_s is None else headers | stale_headers(body.stale_s),
            )
        except DataApiProblem as problem:
            response = problem_response(problem, headers)
        except Exception:
            logger.exception("data API handler failed on %s", self._spec.path)
            response = problem_response(InternalError("the request could not be answered"), headers)
        if key_id is not None and self._usage is not None:
            self._usage.count(
                key_id,
                self._spec.name,
                status=response.status_code,
                body_bytes=len(response.body),
            )
        return response


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
) -> Starlette:
    """The ``/api/v1`` app (mount it there; ``next`` links follow the request's own path).

    ``usage`` counts every answer to a known key; its owner runs ``usage.running()``.
    """
    routes = [
        Route(
            spec.path,
            _Gate(
                spec,
                getattr(resources, spec.name),
                verifier=verifier,
                limiter=limiter,
                usage=usage,
            ).handle,
            methods=["GET"],
            name=f"{spec.name}:{spec.path}",
        )
        for spec in ROUTES
    ]
    document = orjson.dumps(openapi_document(ROUTES))

    async def openapi(request: Request) -> Response:
        """Public, like any API reference: no key needed to read what the keys unlock."""
        return json_response(document, request_headers=request.headers, max_age_s=3600, headers={})

    routes.append(Route(OPENAPI_PATH, openapi, methods=["GET"], name="openapi"))
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _not_found
    }
    return Starlette(routes=routes, exception_handlers=handlers)
