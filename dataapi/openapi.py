"""The OpenAPI 3.1 document of ``/api/v1``, generated from the route table and the models.

Schemas come from :mod:`dataapi.models` through msgspec (JSON Schema 2020-12, the dialect
OpenAPI 3.1 adopts); paths, parameters and the tier resource of each operation come from
:data:`dataapi.routes.ROUTES`; the refusals every operation can answer come from the error tree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from dataapi.models import Problem
from dataapi.routes import PATH_PARAMETERS, QUERY_PARAMETERS, RouteSpec

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{name}"
_REFUSALS = {
    "401": "Missing, invalid, revoked or expired API key (`reason` says which)",
    "403": "The key's tier may not read this resource, or this far back",
    "404": "Neither the live cache nor the store has it (the upstream is not called per request)",
    "422": "A parameter that cannot be used (`parameter` names it)",
    "429": "The tier's rate limit; see `Retry-After`",
}
_RATE_HEADERS = {
    name: {"schema": {"type": kind}, "description": text}
    for name, kind, text in (
        ("RateLimit-Limit", "integer", "Requests a minute the tier allows"),
        ("RateLimit-Remaining", "integer", "Requests left now"),
        ("RateLimit-Reset", "integer", "Seconds until the bucket is full"),
        ("RateLimit", "string", 'Combined form, `"tier";r=…;t=…`'),
        ("RateLimit-Policy", "string", 'Combined form, `"tier";q=…;w=60`'),
        ("ETag", "string", "Strong entity tag of the body"),
        ("Cache-Control", "string", "How long the body may be reused"),
    )
}


def _operation(spec: RouteSpec) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMETERS[name][1],
            "schema": PATH_PARAMETERS[name][0],
        }
        for name in re.findall(r"{(\w+)}", spec.path)
    ]
    for name in spec.query:
        schema, description = QUERY_PARAMETERS[name]
        parameters.append(
            {"name": name, "in": "query", "description": description, "schema": schema}
        )
    problem = {"application/problem+json": {"schema": {"$ref": _REF.format(name="Problem")}}}
    responses: dict[str, Any] = {
        "200": {
            "description": spec.summary,
            "headers": _RATE_HEADERS,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(name=spec.response.__name__)}}
            },
        },
        "304": {"description": "Not modified (`If-None-Match`)", "headers": _RATE_HEADERS},
    }
    responses |= {
        code: {"description": text, "content": problem} for code, text in _REFUSALS.items()
    }
    if spec.name == "match":  # a miss is queued for the poller (dataapi.ondemand)
        responses["202"] = {
            "description": "Not in the cache or the store: a fetch is queued; see `Retry-After`",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": problem,
        }
        responses["503"] = {
            "description": "The on-demand queue is full or unreachable",
            "content": problem,
        }
    return {
        "operationId": f"{spec.name}{'_all' if '{sport}' not in spec.path else ''}",
        "summary": spec.summary,
        "tags": [spec.resource.value],
        "parameters": parameters,
        "responses": responses,
        "x-tier-resource": spec.resource.value,
    }


def openapi_document(routes: Sequence[RouteSpec], *, server_url: str = "/api/v1") -> dict[str, Any]:
    _, schemas = msgspec.json.schema_components(
        [Problem, *{spec.response for spec in routes}], ref_template=_REF
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pusherd sports data API",
            "version": "1",
            "description": "Current state and history of matches in the shapes of the "
            "WebSocket events (event-schema.md).",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": {spec.path: {"get": _operation(spec)} for spec in routes},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
