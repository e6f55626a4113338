"""Issue 10 item 7, the downgrade half: ``keys set-tier`` cuts what the old tier granted.

Real pusherd nodes with the embedded auth service, over real Redis (one and two nodes) and
without Redis (one node, which reads the change from the database), the tier changed with
``python -m auth keys set-tier`` as an operator would.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest

from auth.__main__ import run
from auth.keys import parse_key
from tests.auth_server import create_key, embedded_auth_server
from tests.pusherd.test_embedded_revocation import (
    CHANNEL,
    _authorize,
    _closed_with,
    _environ,
    _nodes,
    _socket,
    _subscribe,
    prefix,
)

__all__ = ["prefix"]  # the fixture, shared with the revocation tests


def _set_tier(environ: dict[str, str], key: str, tier: str) -> None:
    presented = parse_key(key)
    assert presented is not None
    assert run(["keys", "set-tier", presented.key_id, tier], environ, io.StringIO()) == 0


async def _auth_status(http_url: str, key: str, socket_id: str) -> int:
    async with httpx.AsyncClient(base_url=http_url) as http:
        response = await http.post(
            "/broadcasting/auth",
            data={"socket_id": socket_id, "channel_name": CHANNEL},
            headers={"Authorization": f"Bearer {key}"},
        )
    return response.status_code


@pytest.mark.parametrize("node_count", [1, 2])
async def test_a_downgrade_closes_the_keys_sockets_and_old_tokens_stop_working(
    tmp_path: Path, prefix: str, node_count: int
) -> None:
    database_url = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    key = create_key(database_url, tier="pro", name="Ada")
    with _nodes(tmp_path, database_url, prefix, node_count) as nodes:
        first, last = nodes[0], nodes[-1]
        async with _socket(last) as (ws, socket_id), _socket(last) as (idle, idle_id):
            assert await _subscribe(ws, await _authorize(first, key, socket_id)) == (
                "pusher_internal:subscription_succeeded"
            )
            old_token = await _authorize(first, key, idle_id)  # signed under "pro"
            await asyncio.to_thread(_set_tier, _environ(database_url, prefix), key, "free")
            assert await _closed_with(ws) == 4009
            assert await _subscribe(idle, old_token) == "pusher:error"
            assert await _closed_with(idle) in (4004, 4009)
        # The key still works, at its new tier: a private channel is refused now.
        async with _socket(last) as (_, new_id):
            assert await _auth_status(first.http_url, key, new_id) == 403


async def test_without_redis_one_node_learns_of_a_downgrade_from_the_database(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    key = create_key(database_url, tier="pro", name="Ada")
    with embedded_auth_server(
        tmp_path, database_url, environ={"AUTH_REVOCATION_POLL_S": "0.2"}
    ) as (node):
        async with _socket(node) as (ws, socket_id), _socket(node) as (idle, idle_id):
            assert await _subscribe(ws, await _authorize(node, key, socket_id)) == (
                "pusher_internal:subscription_succeeded"
            )
            old_token = await _authorize(node, key, idle_id)
            await asyncio.to_thread(_set_tier, {"DATABASE_URL": database_url}, key, "free")
            assert await _closed_with(ws) == 4009
            assert await _subscribe(idle, old_token) == "pusher:error"
            assert await _closed_with(idle) in (4004, 4009)
        async with _socket(node) as (_, new_id):
            assert await _auth_status(node.http_url, key, new_id) == 403
