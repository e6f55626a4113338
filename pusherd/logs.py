"""Log format and access logs (issue 14, item 7).

``--log-format json`` writes one JSON object a line — ``time``, ``level``, ``logger``,
``message`` and, where known, ``request_id``, ``app_id`` and ``socket_id`` — for log shippers;
``text`` is the readable default. The ids come from a context variable the access-log
middleware sets for the duration of one HTTP request (so every line logged while serving it
carries them), or from a record's ``extra``.

The access log names method, path, status and duration, and never the query string: the HTTP
API's query holds ``auth_key`` and ``auth_signature`` (§9.2), and a channel-auth body holds
socket ids and user data, so neither is ever logged. Headers are not logged either
(``Authorization`` holds API keys).
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "JsonFormatter", "configure_logging", "log_context"]

#: Ids of what is being served right now: request_id, app_id, socket_id.
log_context: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "pusherd_log_context", default=None
)

_CONTEXT_FIELDS = ("request_id", "app_id", "socket_id")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: An incoming X-Request-ID is kept only if it is short and plain (it goes into every line).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_APP_PATH = re.compile(r"^/apps/([0-9]{1,32})/")
access_logger = logging.getLogger("pusherd.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = log_context.get() or {}
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None) or context.get(name)
            if value is not None:
                entry[name] = str(value)
        for name in ("method", "path", "status", "duration_ms"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(level: str, log_format: str) -> None:
    """The root handler on stderr, in the chosen format; quiets per-start chatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers have handlers of their own; send them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # Migrations, the scheduler's ticks, each upstream request: noise at every start and poll.
    for noisy in ("alembic", "apscheduler", "httpx", "httpcore", "websockets.server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class AccessLog:
    """ASGI middleware: one ``pusherd.access`` line per HTTP request, with a request id that is
    also returned as ``X-Request-ID`` and set in :data:`log_context` while the request runs."""

    def __init__(self, app: ASGIApp, *, rng: random.Random) -> None:
        self.app = app
        self.rng = rng

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        path: str = scope.get("path", "")
        context = {"request_id": request_id}
        if match := _APP_PATH.match(path):
            context["app_id"] = match.group(1)
        token = log_context.set(context)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            access_logger.info(
                "%s %s %d %.2fms",
                scope.get("method", "-"),
                path,
                status,
                duration_ms,
                extra={
                    "method": scope.get("method", "-"),
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
            log_context.reset(token)

    def _request_id(self, scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                text = bytes(value).decode("latin-1")
                if _REQUEST_ID.match(text):
                    return text
        return f"{self.rng.getrandbits(64):016x}"
