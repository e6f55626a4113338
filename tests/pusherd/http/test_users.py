"""``POST …/users/{id}/terminate_connections`` (reference §9.7, §13.4; checklist H74, H75)."""

from __future__ import annotations

import asyncio
import json

from tests.pusherd.http.api import assert_json_error, assert_json_success, python_sdk
from tests.pusherd.http.api import signed_request as request
from tests.pusherd.transport.wsclient import PusherSocket, open_socket, sign
from tests.servers import RunningServer


async def _sign_in(server: RunningServer, client: PusherSocket, user_id: str) -> None:
    """``pusher:signin`` as pusher-js sends it (§2.11) and the ``signin_success`` answer."""
    user_data = json.dumps({"id": user_id}, separators=(",", ":"))
    auth = f"{server.key}:{sign(server.secret, f'{client.socket_id}::user::{user_data}')}"
    await client.send({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}})
    frame = await client.recv()
    assert frame["event"] == "pusher:signin_success", frame
    assert frame["data"]["user_data"] == user_data, frame


async def test_terminate_closes_signed_in_sockets_only(pusherd_server: RunningServer) -> None:
    """H74: the pusher-php/Node request (body ``{}``) answers 200 ``{}``, closes every socket
    signed in as 42 with 4009, and leaves a socket that only joined presence as 42 — and
    sockets of other users — open."""
    async with (
        open_socket(pusherd_server) as tab1,
        open_socket(pusherd_server) as tab2,
        open_socket(pusherd_server) as other_user,
        open_socket(pusherd_server) as presence_only,
    ):
        await _sign_in(pusherd_server, tab1, "42")
        await _sign_in(pusherd_server, tab2, "42")
        await _sign_in(pusherd_server, other_user, "7")
        await presence_only.subscribe_presence(pusherd_server, "presence-x", '{"user_id":"42"}')
        for client in (tab1, tab2, other_user):
            # Drain whatever the signin sent after signin_success (watchlist events, if any).
            while True:
                try:
                    await client.recv(timeout=0.2)
                except TimeoutError:
                    break
        path = f"/apps/{pusherd_server.app_id}/users/42/terminate_connections"
        response = await request(pusherd_server, "POST", path, "{}")
        assert assert_json_success(response) == {}
        for client in (tab1, tab2):
            await client.expect_refused(4009)
        await other_user.ping()
        await presence_only.ping()


async def test_python_sdk_terminate_path_without_apps_prefix(
    pusherd_server: RunningServer,
) -> None:
    """H75: the Python SDK's ``terminate_user_connections('42')`` (``/users/42/…``, app found by
    ``auth_key``) works."""
    async with open_socket(pusherd_server) as client:
        await _sign_in(pusherd_server, client, "42")
        with python_sdk(pusherd_server) as sdk:
            result = await asyncio.to_thread(sdk.terminate_user_connections, "42")
        assert result == {}
        while True:
            frame = await client.recv()
            if frame["event"] == "pusher:error":
                break
        assert frame["data"]["code"] == 4009, frame
        await client.expect_closed(4009)


async def test_terminate_with_invalid_user_id_is_400(pusherd_server: RunningServer) -> None:
    """§9.7: a user id that is not a valid id (too long) → 400."""
    path = f"/apps/{pusherd_server.app_id}/users/{'u' * 201}/terminate_connections"
    assert_json_error(await request(pusherd_server, "POST", path, "{}"), 400)
