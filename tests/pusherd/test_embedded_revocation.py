"""Issue 10 item 7: revoking a key cuts the access it already granted, on every node.

Real pusherd nodes with the embedded auth service over real Redis (adapter and revocation
announcements), the key revoked with ``python -m auth keys revoke`` as an operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis as sync_redis
import websockets

from auth.__main__ import run
from auth.keys import parse_key
from pusherd.config import Secret
from tests.auth_server import MATCH, create_key, embedded_auth_server
from tests.servers import RunningServer, make_settings

REDIS_URL = "redis://127.0.0.1:6379/0"
CHANNEL = f"private-{MATCH}"
#: How long a revocation may take to close a socket on any node.
BOUND_S = 2.0


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"test:revoke:{uuid.uuid4().hex[:12]}:"
    yield value
    client = sync_redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{value}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _environ(database_url: str, prefix: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "AUTH_REDIS_PREFIX": prefix}


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


@contextlib.contextmanager
def _nodes(
    tmp_path: Path, database_url: str, prefix: str, count: int
) -> Iterator[list[RunningServer]]:
    settings = make_settings(
        adapter="redis", redis_url=Secret(REDIS_URL), redis_prefix=f"{prefix}pusherd:"
    )
    with contextlib.ExitStack() as stack:
        nodes = [
            stack.enter_context(
                embedded_auth_server(
                    _directory(tmp_path / f"node{index}"),
                    database_url,
                    environ=_environ(database_url, prefix),
                    settings=settings,
                )
            )
            for index in range(count)
        ]
        yield nodes


@contextlib.asynccontextmanager
async def _socket(node: RunningServer) -> AsyncIterator[tuple[websockets.ClientConnection, str]]:
    async with websockets.connect(node.ws_url()) as ws:
        established = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
        yield ws, orjson.loads(established["data"])["socket_id"]


async def _authorize(node: RunningServer, key: str, socket_id: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=node.http_url) as http:
        response = await http.post(
            "/broadcasting/auth",
            data={"socket_id": socket_id, "channel_name": CHANNEL},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 200
    answer: dict[str, str] = response.json()
    return answer


async def _subscribe(ws: websockets.ClientConnection, answer: dict[str, str]) -> str:
    message = {"event": "pusher:subscribe", "data": {"channel": CHANNEL, **answer}}
    await ws.send(orjson.dumps(message).decode())
    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    return str(reply["event"])


async def _closed_with(ws: websockets.ClientConnection) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), BOUND_S)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def _revoke(database_url: str, prefix: str, key: str) -> None:
    presented = parse_key(key)
    assert presented is not None
    environ = _environ(database_url, prefix)
    assert run(["keys", "revoke", presented.key_id], environ, io.StringIO()) == 0


@pytest.mark.parametrize("node_count", [1, 2])
async def test_revoking_a_key_closes_its_sockets_and_its_old_tokens_stop_working(
    tmp_path: Path, prefix: str, node_count: int
) -> None:
    database_url = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    key = create_key(database_url, tier="pro", name="Ada")
    with _nodes(tmp_path, database_url, prefix, node_count) as nodes:
        first, last = nodes[0], nodes[-1]
        # Subscribed on the last node, authorised through the first (grants live in Redis).
        async with _socket(last) as (ws, socket_id), _socket(last) as (idle, idle_id):
            assert await _subscribe(ws, await _authorize(first, key, socket_id)) == (
                "pusher_internal:subscription_succeeded"
            )
            # A token obtained before the revocation, used only after it.
            old_token = await _authorize(first, key, idle_id)
            await asyncio.to_thread(_revoke, database_url, prefix, key)
            assert await _closed_with(ws) == 4009
            refused = await _subscribe(idle, old_token)
            assert refused == "pusher:error"
            assert await _closed_with(idle) in (4004, 4009)


async def test_without_redis_one_node_learns_of_a_revocation_from_the_database(
    tmp_path: Path,
) -> None:
    """The CLI cannot reach a node without Redis; the node polls (here every 0.2 s)."""
    database_url = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    key = create_key(database_url, tier="pro", name="Ada")
    environ = {"AUTH_REVOCATION_POLL_S": "0.2"}
    with embedded_auth_server(tmp_path, database_url, environ=environ) as node:
        async with _socket(node) as (ws, socket_id), _socket(node) as (idle, idle_id):
            assert await _subscribe(ws, await _authorize(node, key, socket_id)) == (
                "pusher_internal:subscription_succeeded"
            )
            old_token = await _authorize(node, key, idle_id)
            presented = parse_key(key)
            assert presented is not None
            revoke = ["keys", "revoke", presented.key_id]
            assert (
                await asyncio.to_thread(run, revoke, {"DATABASE_URL": database_url}, io.StringIO())
                == 0
            )
            assert await _closed_with(ws) == 4009
            assert await _subscribe(idle, old_token) == "pusher:error"
            assert await _closed_with(idle) in (4004, 4009)
