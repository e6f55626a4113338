"""``GET /up``: the health check load balancers and Laravel's Reverb users expect."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["up"]


async def up(request: Request) -> Response:
    return Response(b'{"health":"OK"}', media_type="application/json")
