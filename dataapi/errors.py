"""Refusals of the data API, each rendering its own RFC 9457 problem body.

::

    DataApiProblem          status + type + title + detail → application/problem+json
    ├── BadParameter        422: a path or query parameter that cannot be used (names it)
    ├── Unauthenticated     401: the API key is missing, invalid, revoked or expired (says which)
    ├── Forbidden           403: the key's tier may not read this resource or this far back
    ├── NotFound            404: neither the live cache nor the store has it (never fetched
    │                       upstream per request; see the README's "Data API")
    ├── MethodNotAllowed    405: the API is read-only (GET and HEAD)
    ├── TooManyRequests     429: the tier's rate limit; ``Retry-After`` says when to retry
    ├── InternalError       500: our bug, logged with its traceback, answered generically
    └── Unavailable         503: the key store, the match store or the limiter is unreachable

Messages never contain the presented key.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "PROBLEM_TYPE_BASE",
    "BadParameter",
    "DataApiProblem",
    "Forbidden",
    "InternalError",
    "MethodNotAllowed",
    "NotFound",
    "TooManyRequests",
    "Unauthenticated",
    "Unavailable",
]

#: ``type`` URIs are relative references under the API (RFC 9457 §3.1.1 allows them).
PROBLEM_TYPE_BASE = "/api/v1/problems/"


class DataApiProblem(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def to_body(self) -> bytes:
        return orjson.dumps(
            {
                "type": PROBLEM_TYPE_BASE + self.slug,
                "title": self.title,
                "status": self.status,
                "detail": self.detail,
                **self.extensions,
            }
        )

    def headers(self) -> dict[str, str]:
        return {}


class BadParameter(DataApiProblem):
    status = 422
    slug = "invalid-parameter"
    title = "Invalid parameter"

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(detail, parameter=parameter)
        self.parameter = parameter


class Unauthenticated(DataApiProblem):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="api"'}


class Forbidden(DataApiProblem):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this tier"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason


class NotFound(DataApiProblem):
    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(DataApiProblem):
    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"

    def headers(self) -> dict[str, str]:
        return {"Allow": "GET, HEAD"}


class InternalError(DataApiProblem):
    status = 500
    slug = "internal-error"
    title = "Internal error"


class TooManyRequests(DataApiProblem):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int, reason: str = "rate_limit") -> None:
        super().__init__(detail, reason=reason)
        self.retry_after_s = max(1, retry_after_s)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Unavailable(DataApiProblem):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"
