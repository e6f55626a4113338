"""Every log line of a full session is JSON with the fields an operator filters on, and none
holds a secret, key, password or signature (issue 14, item 7).

The session: pusher-js connects, subscribes to a private and a presence channel, a signed HTTP
trigger (whose signature the test computes, so it knows what to look for), a webhook delivery
to a receiver in the test (whose X-Pusher-Signature it records), and the auth endpoint called
with an API key. The node runs with ``--log-level debug`` so nothing is filtered out.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from poller.simulator.server import serve as serve_asgi
from pusherd.protocol.signatures import body_md5, http_string_to_sign, sign
from tests.e2e.node_driver import NodeDriver
from tests.e2e.nodes import (
    APP_ID,
    APP_KEY,
    APP_SECRET,
    ROOT,
    node_environment,
    redis_prefix,
    start_node,
    stop_all,
)
from tests.e2e.python_sdk import PythonSdk

pytestmark = pytest.mark.node

PRESENCE = "presence-sports.football.leagues.1.matches.2"
PRIVATE = "private-orders"


def _create_api_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "auth",
            "keys",
            "create",
            "--name",
            "Log test",
            "--tier",
            "enterprise",
        ],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def test_a_full_session_logs_json_lines_without_secrets(tmp_path: Path) -> None:
    hooks: list[dict[str, Any]] = []

    async def receive(request: Request) -> Response:
        hooks.append(
            {"signature": request.headers["x-pusher-signature"], "body": await request.body()}
        )
        return Response(b"{}", media_type="application/json")

    receiver = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
    async with serve_asgi(receiver) as hook_url, redis_prefix() as prefix:
        apps_file = tmp_path / "apps.toml"
        apps_file.write_text(
            f'[[apps]]\nid = "{APP_ID}"\nkey = "{APP_KEY}"\nsecret = "{APP_SECRET}"\n'
            f'[[apps.webhooks]]\nurl = "{hook_url}/hook"\n',
            encoding="utf-8",
        )
        env = node_environment(
            tmp_path,
            prefix,
            {"PUSHERD_ADAPTER": "memory", "PUSHERD_APPS_FILE": str(apps_file)},
        )
        api_key = await asyncio.to_thread(_create_api_key, env)
        node = await start_node(
            tmp_path, env, ["--log-format", "json", "--log-level", "debug"], name="logs"
        )
        secrets = {APP_SECRET, api_key, api_key.split(".", 1)[-1]}
        try:
            with PythonSdk.open(node) as sdk:
                async with NodeDriver.start(
                    node, python_signer=sdk.authenticate, python_user_signer=None
                ) as driver:
                    user = {"user_id": "9", "user_info": {"name": "Nine"}}
                    client = await driver.pusher("c", node, signer="node", user=user)
                    socket_id = await client.connected()
                    await client.subscribe(PRIVATE)
                    await client.subscribe(PRESENCE)
                    for frame in client.frames_out():
                        auth = (frame.get("data") or {}).get("auth")
                        if auth:
                            secrets.add(auth.split(":", 1)[1])
                    secrets.add(await _signed_trigger(node.http_url))
                    async with httpx.AsyncClient() as http:
                        answer = await http.post(
                            f"{node.http_url}/broadcasting/auth",
                            data={"socket_id": socket_id, "channel_name": PRESENCE},
                            headers={"Authorization": f"Bearer {api_key}"},
                        )
                    assert answer.status_code == 200, answer.text
                    secrets.add(answer.json()["auth"].split(":", 1)[1])
                    await client.disconnect()
                    deadline = time.monotonic() + 15
                    while not any(b"member_removed" in hook["body"] for hook in hooks):
                        assert time.monotonic() < deadline, hooks
                        await asyncio.sleep(0.1)
        finally:
            node.signal(15)
            await node.wait(30)
            await stop_all([node])
        secrets.update(hook["signature"] for hook in hooks)
        assert hooks, "no webhook was delivered"
        lines = node.log_text().splitlines()
        records = [orjson.loads(line) for line in lines]  # every line is one JSON object
        for record in records:
            assert {"time", "level", "logger", "message"} <= set(record), record
        access = [r for r in records if r["logger"] == "pusherd.access"]
        assert {r["path"] for r in access} >= {"/apps/7/events", "/broadcasting/auth"}
        assert all(r.get("request_id") for r in access)
        assert any(r.get("app_id") == APP_ID for r in access)
        for secret in secrets:
            assert len(secret) >= 16
            leaking = [line for line in lines if secret in line]
            assert leaking == [], f"a secret appears in {len(leaking)} log line(s)"


async def _signed_trigger(base_url: str) -> str:
    """A trigger signed here, so the test knows its signature; returns the signature."""
    body = json.dumps({"name": "hello", "channels": [PRIVATE], "data": "{}"}).encode()
    params = {
        "auth_key": APP_KEY,
        "auth_timestamp": str(int(time.time())),
        "auth_version": "1.0",
        "body_md5": body_md5(body),
    }
    path = f"/apps/{APP_ID}/events"
    signature = sign(APP_SECRET, http_string_to_sign("POST", path, params.items()))
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}{path}",
            params={**params, "auth_signature": signature},
            content=body,
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 200, response.text
    return signature
