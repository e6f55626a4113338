"""`POST /broadcasting/auth` and `/broadcasting/user-auth`, as Echo and pusher-js call them.

Request (reference §14.4–§14.5): form-encoded ``socket_id`` (+ ``channel_name``), or the same as
a JSON object; the API key in ``Authorization: Bearer <key>`` or the configured header. Order of
checks: failure budget (429), key (401), fields (422), policy (403); then a signed 200 answer.
Every refusal is JSON ``{"error", "reason"}``; an unexpected exception is logged with its
traceback and answered with a generic 500, never with details.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from auth.channel_auth import (
    AppCredentials,
    channel_auth_body,
    is_valid_socket_id,
    presence_channel_data,
    user_auth_body,
    user_data_for,
)
from auth.config import AuthOptions
from auth.errors import AuthError, Forbidden, PayloadTooLarge, Unprocessable
from auth.grants import GrantRegistry, SocketGrant
from auth.keys import ApiKey
from auth.policy import Policy, user_info_for
from auth.tiers import Tier
from auth.verifier import KeyVerifier
from pusherd.protocol.channels import ChannelKind

__all__ = ["AuthEndpoints"]

logger = logging.getLogger("auth.endpoints")

_BEARER = "bearer "


class AuthEndpoints:
    """The two handlers, holding exactly the collaborators they use."""

    __slots__ = ("_credentials", "_grants", "_options", "_policy", "_verifier")

    def __init__(
        self,
        *,
        verifier: KeyVerifier,
        policy: Policy,
        credentials: AppCredentials,
        grants: GrantRegistry,
        options: AuthOptions,
    ) -> None:
        self._verifier = verifier
        self._policy = policy
        self._credentials = credentials
        self._grants = grants
        self._options = options

    async def channel_auth(self, request: Request) -> Response:
        return await _answer(request, self._channel_auth)

    async def user_auth(self, request: Request) -> Response:
        return await _answer(request, self._user_auth)

    async def _channel_auth(self, request: Request) -> dict[str, str]:
        key = await self._authenticate(request)
        fields = await self._read_fields(request)
        socket_id = _socket_id(fields)
        channel_name = fields.get("channel_name")
        if not isinstance(channel_name, str) or not channel_name:
            raise Unprocessable("invalid_channel_name", "channel_name is missing")
        grant = self._policy.authorize_channel(channel_name, key)
        if grant.kind is ChannelKind.ENCRYPTED and self._credentials.master_key() is None:
            raise Forbidden(
                "encryption_not_configured", "encrypted channels are not enabled on this server"
            )
        channel_data = None
        if grant.kind is ChannelKind.PRESENCE:
            channel_data = presence_channel_data(key.user_id, user_info_for(key, grant.user_info))
        body = channel_auth_body(
            credentials=self._credentials,
            socket_id=socket_id,
            channel_name=channel_name,
            kind=grant.kind,
            channel_data=channel_data,
        )
        await self._grants.record(_grant(socket_id, key, grant.tier))
        return body

    async def _user_auth(self, request: Request) -> dict[str, str]:
        key = await self._authenticate(request)
        socket_id = _socket_id(await self._read_fields(request))
        tier = self._policy.authorize_signin(key)
        user_data = user_data_for(key.user_id, user_info_for(key, self._policy.signin_user_info))
        body = user_auth_body(
            credentials=self._credentials, socket_id=socket_id, user_data=user_data
        )
        await self._grants.record(_grant(socket_id, key, tier))
        return body

    async def _authenticate(self, request: Request) -> ApiKey:
        header = self._options.key_header
        value = request.headers.get(header)
        if value is not None and header.lower() == "authorization":
            # "Authorization: Bearer <key>", as Echo's bearerToken option sends it (§14.3).
            value = value[len(_BEARER) :].strip() if value.lower().startswith(_BEARER) else None
        address = request.client.host if request.client is not None else "unknown"
        return await self._verifier.verify(value, client_address=address)

    async def _read_fields(self, request: Request) -> dict[str, Any]:
        body = await _read_body(request, self._options.max_body_bytes)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise Unprocessable("invalid_body", "the body is not valid JSON") from None
            if not isinstance(data, dict):
                raise Unprocessable("invalid_body", "the JSON body must be an object")
            return data
        # pusher-js posts application/x-www-form-urlencoded (§14.4); accept a missing type too.
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            raise Unprocessable("invalid_body", "the form body could not be read") from None


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refusing it as soon as it passes ``max_bytes`` (never buffered whole first)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge("body_too_large", "the request body is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _socket_id(fields: dict[str, Any]) -> str:
    socket_id = fields.get("socket_id")
    if not isinstance(socket_id, str) or not is_valid_socket_id(socket_id):
        # Every server SDK requires ^\d+\.\d+$ (§1.3).
        raise Unprocessable("invalid_socket_id", "socket_id must look like 123.456")
    return socket_id


def _grant(socket_id: str, key: ApiKey, tier: Tier) -> SocketGrant:
    return SocketGrant(
        socket_id=socket_id,
        key_id=key.key_id,
        user_id=key.user_id,
        tier=tier.name,
        max_connections=tier.max_connections,
        rest_requests_per_minute=tier.rest_requests_per_minute,
    )


async def _answer(
    request: Request, handler: Callable[[Request], Awaitable[dict[str, str]]]
) -> Response:
    try:
        body = await handler(request)
    except AuthError as exc:
        logger.debug("refused %s: %s", request.url.path, exc.reason)
        return Response(
            exc.to_body(),
            status_code=exc.status,
            headers=exc.headers(),
            media_type="application/json",
        )
    except Exception:
        logger.error("auth endpoint %s failed", request.url.path, exc_info=True)
        return Response(
            orjson.dumps({"error": "internal error", "reason": "internal"}),
            status_code=500,
            media_type="application/json",
        )
    return Response(orjson.dumps(body), media_type="application/json")
