"""The embedded default: auth endpoints on pusherd's port, per-key connection caps (issue 5).

Requests are the ones pusher-js and Echo send (§14.4): form-encoded ``socket_id`` and
``channel_name`` with ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from tests.auth_server import MATCH, create_key, embedded_auth_server
from tests.servers import RunningServer


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auth.sqlite3'}"


@pytest.fixture
def keys(database_url: str) -> dict[str, str]:
    """One plain key per tier, created the way the CLI creates them."""
    return {
        "free": create_key(database_url, tier="free", name="Fran"),
        "pro": create_key(database_url, tier="pro", name="Ada Lovelace"),
    }


@pytest.fixture
def server(database_url: str, tmp_path: Path, keys: dict[str, str]) -> Iterator[RunningServer]:
    with embedded_auth_server(tmp_path, database_url) as running:
        yield running


async def _connect(server: RunningServer) -> tuple[websockets.ClientConnection, str]:
    ws = await websockets.connect(server.ws_url())
    established = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    return ws, orjson.loads(established["data"])["socket_id"]


async def _authorize(
    server: RunningServer, key: str, socket_id: str, channel: str
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        return await http.post(
            "/broadcasting/auth",
            data={"socket_id": socket_id, "channel_name": channel},
            headers={"Authorization": f"Bearer {key}"},
        )


async def _subscribe(
    ws: websockets.ClientConnection, channel: str, answer: dict[str, str]
) -> dict[str, object]:
    await ws.send(
        orjson.dumps({"event": "pusher:subscribe", "data": {"channel": channel, **answer}}).decode()
    )
    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    assert isinstance(reply, dict)
    return reply


async def test_a_pro_key_joins_a_private_match_channel(
    server: RunningServer, keys: dict[str, str]
) -> None:
    ws, socket_id = await _connect(server)
    answer = await _authorize(server, keys["pro"], socket_id, f"private-{MATCH}")
    assert answer.status_code == 200
    reply = await _subscribe(ws, f"private-{MATCH}", answer.json())
    assert reply["event"] == "pusher_internal:subscription_succeeded"
    await ws.close()


async def test_a_free_key_is_refused_a_private_channel(
    server: RunningServer, keys: dict[str, str]
) -> None:
    ws, socket_id = await _connect(server)
    answer = await _authorize(server, keys["free"], socket_id, f"private-{MATCH}")
    assert answer.status_code == 403
    assert "error" in answer.json()
    await ws.close()


async def test_presence_shows_the_configured_user_info_never_the_key(
    server: RunningServer, keys: dict[str, str]
) -> None:
    ws, socket_id = await _connect(server)
    answer = await _authorize(server, keys["pro"], socket_id, f"presence-{MATCH}")
    reply = await _subscribe(ws, f"presence-{MATCH}", answer.json())
    presence = orjson.loads(str(reply["data"]))["presence"]
    (info,) = presence["hash"].values()
    assert info["name"] == "Ada Lovelace"
    assert set(info) == {"id", "name"}
    assert keys["pro"] not in str(reply)
    await ws.close()


async def test_a_key_over_its_connection_cap_gets_4004(
    server: RunningServer, keys: dict[str, str]
) -> None:
    """Issue 5 item 2: the pro tier here allows one socket per key."""
    first, first_id = await _connect(server)
    second, second_id = await _connect(server)
    channel = f"private-{MATCH}"
    answer = await _authorize(server, keys["pro"], first_id, channel)
    assert (await _subscribe(first, channel, answer.json()))["event"] == (
        "pusher_internal:subscription_succeeded"
    )
    answer = await _authorize(server, keys["pro"], second_id, channel)
    refused = await _subscribe(second, channel, answer.json())
    assert refused == {
        "event": "pusher:error",
        "data": {"code": 4004, "message": "API key is over its connection quota"},
    }
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(second.recv(), 2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004
    # The first socket is unaffected, and once it closes the key may connect again.
    await first.send('{"event":"pusher:ping","data":{}}')
    assert orjson.loads(await asyncio.wait_for(first.recv(), 2))["event"] == "pusher:pong"
    await first.close()
    # The first socket's leave is recorded just after its close: try again until it is.
    for _ in range(50):
        third, third_id = await _connect(server)
        answer = await _authorize(server, keys["pro"], third_id, channel)
        reply = await _subscribe(third, channel, answer.json())
        await third.close()
        if reply["event"] == "pusher_internal:subscription_succeeded":
            break
        await asyncio.sleep(0.05)
    assert reply["event"] == "pusher_internal:subscription_succeeded"
