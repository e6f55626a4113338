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

from tests.e2e.node_driver import ServerInfo


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
        """``Pusher.authenticate(channel, socket_id, custom_data)``: the auth endpoint's answer."""
        result: dict[str, Any] = self.client.authenticate(channel_name, socket_id, presence_data)
        return result
