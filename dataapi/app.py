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
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dataapi.access import KeyVerifier, Resource, check_resource, presented_key
from dataapi.errors import DataApiProblem, NotFound, TooManyRequests
from dataapi.freshness import json_response
from dataapi.ratelimit import RateLimiter, rate_headers
from dataapi.resources import Body, DataResources

__all__ = ["PROBLEM_MEDIA_TYPE", "ROUTES", "build_data_api"]

logger = logging.getLogger("dataapi.app")
PROBLEM_MEDIA_TYPE = "application/problem+json"

Handler = Callable[..., Awaitable[Body]]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str
    name: str  # the DataResources method
    resource: Resource
    summary: str


#: The whole API, in one place (paths relative to the ``/api/v1`` mount).
ROUTES = (
    RouteSpec("/sports", "sports", Resource.REFERENCE, "Sports served"),
    RouteSpec("/sports/{sport}/leagues", "leagues", Resource.REFERENCE, "Leagues of a sport"),
    RouteSpec(
        "/sports/{sport}/leagues/{league}/standings",
        "standings",
        Resource.STANDINGS,
        "A league's table",
    ),
    RouteSpec("/matches/live", "live", Resource.LIVE, "Matches in play, every sport"),
    RouteSpec("/sports/{sport}/matches/live", "live", Resource.LIVE, "Matches in play"),
    RouteSpec(
        "/sports/{sport}/leagues/{league}/matches",
        "league_matches",
        Resource.MATCHES,
        "A league's matches on one day (?date=YYYY-MM-DD&status=…)",
    ),
    RouteSpec(
        "/sports/{sport}/matches/{match}",
        "match",
        Resource.MATCHES,
        "One match with its ordered event timeline",
    ),
    RouteSpec(
        "/sports/{sport}/teams/{team}/matches",
        "team_matches",
        Resource.TEAMS,
        "A team's matches between two dates (?from=…&to=…)",
    ),
)


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
    ) -> None:
        self._spec = spec
        self._handler = handler
        self._verifier = verifier
        self._limiter = limiter

    async def handle(self, request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            presented = presented_key(request.headers, request.query_params)
            client = request.client.host if request.client is not None else "unknown"
            identity = await self._verifier.identify(presented, client_address=client)
            decision = await self._limiter.take(identity.key_id, identity.requests_per_minute)
            headers = rate_headers(decision, identity.tier)
            if not decision.is_allowed:
                raise TooManyRequests(
                    f"tier {identity.tier!r} allows {decision.limit} requests a minute",
                    retry_after_s=decision.retry_after_s,
                )
            check_resource(identity, self._spec.resource)
            body = await self._handler(
                request.url.path, dict(request.query_params), identity, **request.path_params
            )
        except DataApiProblem as problem:
            return problem_response(problem, headers)
        except Exception:
            logger.exception("data API handler failed on %s", self._spec.path)
            return problem_response(DataApiProblem("internal error"), headers)
        return json_response(
            orjson.dumps(body.payload),
            request_headers=request.headers,
            max_age_s=body.max_age_s,
            headers=headers,
        )


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        problem = DataApiProblem("only GET is served here")
        problem.status = 405
        return problem_response(problem, {"Allow": "GET, HEAD"})
    return problem_response(NotFound(f"no such resource: {request.url.path}"), {})


def build_data_api(
    *,
    resources: DataResources,
    verifier: KeyVerifier,
    limiter: RateLimiter,
) -> Starlette:
    """The ``/api/v1`` app (mount it there; ``next`` links follow the request's own path)."""
    routes = [
        Route(
            spec.path,
            _Gate(
                spec,
                getattr(resources, spec.name),
                verifier=verifier,
                limiter=limiter,
            ).handle,
            methods=["GET"],
            name=f"{spec.name}:{spec.path}",
        )
        for spec in ROUTES
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _not_found
    }
    return Starlette(routes=routes, exception_handlers=handlers)
