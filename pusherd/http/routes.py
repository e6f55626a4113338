"""The whole HTTP API route table, in one place (house rule 4)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from pusherd.http.channels import channel_info, channel_users, list_channels
from pusherd.http.context import api_endpoint
from pusherd.http.events import batch_events, trigger_event
from pusherd.http.health import ready, up
from pusherd.http.metrics import metrics
from pusherd.http.users import terminate_user_connections

__all__ = ["api_routes"]


def api_routes() -> list[BaseRoute]:
    return [
        Route("/up", up, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/apps/{app_id}/events", api_endpoint(trigger_event), methods=["POST"]),
        Route("/apps/{app_id}/batch_events", api_endpoint(batch_events), methods=["POST"]),
        Route("/apps/{app_id}/channels", api_endpoint(list_channels), methods=["GET"]),
        Route(
            "/apps/{app_id}/channels/{channel_name}", api_endpoint(channel_info), methods=["GET"]
        ),
        Route(
            "/apps/{app_id}/channels/{channel_name}/users",
            api_endpoint(channel_users),
            methods=["GET"],
        ),
        Route(
            "/apps/{app_id}/users/{user_id}/terminate_connections",
            api_endpoint(terminate_user_connections),
            methods=["POST"],
        ),
        # The Python SDK posts without the /apps/{id} prefix and is found by its auth_key (§9.7).
        Route(
            "/users/{user_id}/terminate_connections",
            api_endpoint(terminate_user_connections, app_from_key=True),
            methods=["POST"],
        ),
    ]
