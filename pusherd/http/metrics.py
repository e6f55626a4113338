"""``GET /metrics``: the Prometheus text format, collected from live state at each scrape."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["METRICS_STATE_KEY", "metrics"]

#: Key of the :class:`CollectorRegistry` in the lifespan state.
METRICS_STATE_KEY = "pusherd_metrics"


async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = getattr(request.state, METRICS_STATE_KEY)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
