"""Hand-signed HTTP API requests (reference §5.5) and the ``pusher`` PyPI SDK, for tests.

:func:`signed_request` signs exactly the bytes it sends, so a test can send what an SDK sends
(pusher-php's compact body, Node's ``channels``) or what no SDK would (a stale timestamp, a
``body_md5`` that does not match). :func:`python_sdk` yields a ``pusher.Pusher`` pointed at the
server and closes its HTTP sessions afterwards (pytest turns unclosed sockets into errors).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import pusher

from tests.pusherd.transport.wsclient import sign
from tests.servers import RunningServer

__all__ = [
    "ApiResponse",
    "assert_json_error",
    "assert_json_success",
    "python_sdk",
    "signed_request",
    "trigger",
]

ApiResponse = httpx.Response


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


async def signed_request(
    server: RunningServer,
    method: str,
    path: str,
    body: bytes | str | Mapping[str, Any] | None = None,
    *,
    params: Mapping[str, str] | None = None,
    timestamp: int | None = None,
    secret: str | None = None,
    key: str | None = None,
    body_md5: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one request signed like pusher-php/Node: ``body_md5`` only when there is a body.

    A mapping body is encoded compactly (``separators=(",", ":")``, like pusher-php and Node).
    ``secret``, ``key``, ``timestamp`` and ``body_md5`` override what gets signed, for the 401s.
    """
    if isinstance(body, Mapping):
        raw = json.dumps(body, separators=(",", ":")).encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body or b""
    query: dict[str, str] = {
        "auth_key": key or server.key,
        "auth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "auth_version": "1.0",
    }
    if raw or body_md5 is not None:
        query["body_md5"] = _md5(raw) if body_md5 is None else body_md5
    query.update(params or {})
    string_to_sign = "\n".join(
        (method.upper(), path, "&".join(f"{k}={query[k]}" for k in sorted(query)))
    )
    query["auth_signature"] = sign(secret or server.secret, string_to_sign)
    send_headers = {"Content-Type": "application/json"} if raw else {}
    send_headers.update(headers or {})
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as client:
        return await client.request(method, path, params=query, content=raw, headers=send_headers)


def assert_json_success(response: httpx.Response) -> dict[str, Any]:
    """HTTP 200, ``Content-Type: application/json`` and a JSON object body (checklist G65)."""
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] == "application/json", response.headers
    body = response.json()
    assert isinstance(body, dict), response.text
    return body


def assert_json_error(response: httpx.Response, status: int) -> str:
    """``status`` with a JSON ``{"error": "<message>"}`` body (reference §9.1)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] == "application/json", response.headers
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), response.text
    message: str = body["error"]
    return message


async def trigger(server: RunningServer, body: Mapping[str, Any] | str) -> httpx.Response:
    """``POST /apps/{id}/events`` with ``body`` (compact JSON when a mapping)."""
    return await signed_request(server, "POST", f"/apps/{server.app_id}/events", body)


@contextmanager
def python_sdk(server: RunningServer) -> Iterator[Any]:
    """A ``pusher.Pusher`` (PyPI SDK 3.x, synchronous) for ``server``; sessions closed on exit."""
    client = pusher.Pusher(
        app_id=server.app_id,
        key=server.key,
        secret=server.secret,
        host=server.host,
        port=server.port,
        ssl=False,
        timeout=10,
    )
    try:
        yield client
    finally:
        client._pusher_client.http.session.close()
        client._authentication_client.http.session.close()
