"""``GET /metrics``: the Prometheus text format, collected from live state at each scrape.

Who may read it (issue 10, item 12): the metrics name apps, count their connections and show
the node's load, which is nobody else's business. With a token configured
(``PUSHERD_METRICS_TOKEN`` / ``--metrics-token``) a scraper sends ``Authorization: Bearer
<token>`` from anywhere, compared in constant time; without one, only loopback clients are
served (a scraper on the same host, or a proxy in front that does its own checks).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from pusherd.protocol.secret import Secret

__all__ = ["METRICS_STATE_KEY", "MetricsAccess", "metrics"]

#: Key of the :class:`MetricsAccess` in the lifespan state.
METRICS_STATE_KEY = "pusherd_metrics"

_BEARER = "bearer "


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    registry: CollectorRegistry
    token: Secret | None = None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = b'{"error":"' + message.encode() + b'"}'
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def metrics(request: Request) -> Response:
    access: MetricsAccess = getattr(request.state, METRICS_STATE_KEY)
    if access.token is not None:
        given = request.headers.get("authorization", "")
        token = given[len(_BEARER) :] if given[: len(_BEARER)].lower() == _BEARER else ""
        if not hmac.compare_digest(token.encode(), access.token.reveal().encode()):
            return _json_error(
                401, "A valid bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
    elif not _is_loopback(request.client.host if request.client else None):
        return _json_error(403, "Metrics are served to loopback clients only")
    return Response(generate_latest(access.registry), media_type=CONTENT_TYPE_LATEST)
