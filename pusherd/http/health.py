"""``GET /up`` and ``GET /ready``: liveness and readiness for load balancers and orchestrators.

``/up`` says only that the process answers HTTP (a restart will not help any other failure);
``/ready`` runs the :class:`~pusherd.readiness.Readiness` checks and answers 503 with the failed
checks named when this node should get no new clients (issue 14, item 5).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pusherd.http.context import json_response
from pusherd.readiness import Readiness

__all__ = ["READINESS_STATE_KEY", "ready", "up"]

READINESS_STATE_KEY = "pusherd_readiness"


async def up(request: Request) -> Response:
    # "health": "OK" kept for Reverb's users, whose checks look for it.
    return json_response({"health": "OK", "status": "up"})


async def ready(request: Request) -> Response:
    readiness: Readiness = getattr(request.state, READINESS_STATE_KEY)
    report = await readiness.report()
    return json_response(report.body(), status=200 if report.is_ready else 503)
