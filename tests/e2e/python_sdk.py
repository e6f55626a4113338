"""The PyPI ``pusher`` SDK (3.x, synchronous, ``requests`` based) pointed at the server under test.

Triggers run in a worker thread (``asyncio.to_thread``) so they never block the event loop that
also reads the Node driver. Channel authorization uses the SDK's own ``authenticate()``, so the
signature (and the ``json.dumps`` spacing of ``channel_data``, checklist C29) is the SDK's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pusher

from tests.e2e.node_driver import ENCRYPTION_MASTER_KEY_BASE64, ServerInfo


class PythonSdk:
    """One ``pusher.Pusher`` client; :meth:`open` closes its HTTP sessions on exit."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    @contextlib.contextmanager
    def open(cls, server: ServerInfo) -> Iterator[PythonSdk]:
        client = pusher.Pusher(
            app_id=server.app_id,
            key=server.key,
            secret=server.secret,
            host=server.host,
            port=server.port,
            ssl=False,
            timeout=10,
            encryption_master_key_base64=ENCRYPTION_MASTER_KEY_BASE64,
        )
        try:
            yield cls(client)
        finally:
            # Both halves own a requests.Session; close them (pytest runs with warnings as errors).
            client._pusher_client.http.session.close()
            client._authentication_client.http.session.close()

    async def trigger(
        self, channels: str | list[str], event: str, data: Any, socket_id: str | None = None
    ) -> Any:
        """``Pusher.trigger`` (body key ``channels``, ``json.dumps`` spacing, ``body_md5``)."""
        return await asyncio.to_thread(self.client.trigger, channels, event, data, socket_id)

    def authenticate(
        self, socket_id: str, channel_name: str, presence_data: Any = None
    ) -> dict[str, Any]:
        """``Pusher.authenticate(channel, socket_id, custom_data)``: the auth endpoint's answer.

        pusher 3.3.4 returns ``shared_secret`` as base64 *bytes*, which no JSON encoder takes;
        an app must decode it before answering, as done here.
        """
        result: dict[str, Any] = self.client.authenticate(channel_name, socket_id, presence_data)
        if isinstance(result.get("shared_secret"), bytes):
            result["shared_secret"] = result["shared_secret"].decode()
        return result

    def authenticate_user(self, socket_id: str, user_data: Any) -> dict[str, Any]:
        """``Pusher.authenticate_user(socket_id, user_data)``: the user-auth endpoint's answer
        ``{"auth", "user_data"}`` with ``user_data`` as ``json.dumps`` spaces it."""
        result: dict[str, Any] = self.client.authenticate_user(socket_id, user_data)
        return result

    async def channel_info(self, channel: str, attributes: list[str]) -> Any:
        """``Pusher.channel_info(channel, attributes)``: ``GET /apps/{id}/channels/{channel}``."""
        return await asyncio.to_thread(self.client.channel_info, channel, attributes)

    async def terminate_user_connections(self, user_id: str) -> Any:
        """``Pusher.terminate_user_connections(user_id)``: posts to
        ``/users/{id}/terminate_connections`` without the ``/apps/{id}`` prefix (§9.7)."""
        return await asyncio.to_thread(self.client.terminate_user_connections, user_id)
