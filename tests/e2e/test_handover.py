"""Hand-over on SIGTERM with real pusher-js clients behind a load balancer (issue 14, item 6).

Two pusherd processes share state through the real Redis; the clients connect through a
health-checking balancer (:mod:`tests.e2e.balancer`). SIGTERM to one node must move every one
of its clients to the other node, resubscribed, without any presence member seeing another
leave, and the node must exit within its bound.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.balancer import Balancer
from tests.e2e.clients import PusherJsClient
from tests.e2e.node_driver import NodeDriver
from tests.e2e.nodes import NodeProcess, node_environment, redis_prefix, start_node, stop_all
from tests.e2e.python_sdk import PythonSdk

pytestmark = pytest.mark.node

PRESENCE = "presence-room"
NEWS = "news"
CLIENTS = 6
WINDOW_S = 2.0


def _user(index: int) -> dict[str, Any]:
    return {"user_id": f"u{index}", "user_info": {"name": f"user {index}"}}


async def test_sigterm_moves_every_client_to_the_other_node_without_member_removed(
    tmp_path: Path,
) -> None:
    async with redis_prefix() as prefix:
        env = node_environment(tmp_path, prefix, {"PUSHERD_HANDOVER_WINDOW_S": str(WINDOW_S)})
        nodes: list[NodeProcess] = []
        try:
            nodes.append(await start_node(tmp_path, env, name="a"))
            nodes.append(await start_node(tmp_path, env, name="b"))
            leaving, staying = nodes
            upstreams = [(node.host, node.port) for node in nodes]
            async with Balancer.start(upstreams) as balancer:
                await _hand_over(tmp_path, balancer, leaving, staying)
        finally:
            await stop_all(nodes)


async def _hand_over(
    tmp_path: Path, balancer: Balancer, leaving: NodeProcess, staying: NodeProcess
) -> None:
    with PythonSdk.open(staying) as sdk:
        async with NodeDriver.start(
            staying,
            python_signer=sdk.authenticate,
            python_user_signer=sdk.authenticate_user,
        ) as driver:
            clients: list[PusherJsClient] = []
            for index in range(CLIENTS):
                client = await driver.pusher(
                    f"c{index}", staying, signer="node", user=_user(index), port=balancer.port
                )
                await client.connected()
                await client.subscribe(PRESENCE)
                await client.subscribe(NEWS)
                clients.append(client)
            on_leaving = balancer.relayed[(leaving.host, leaving.port)]
            assert on_leaving >= 2, balancer.relayed  # round robin put clients on both nodes
            since = driver.cursor
            signalled = time.monotonic()
            leaving.signal(signal.SIGTERM)
            code = await leaving.wait(timeout_s=WINDOW_S + 15)
            took = time.monotonic() - signalled
            assert code == 0, leaving.log_text()[-2000:]
            # The bound: the window, the presence grace (3 s) and the lifespan's flush.
            assert took < WINDOW_S + 3.0 + 6.0, took

            closes = driver.find(since=since, obs="closed")
            assert len(closes) == on_leaving, driver.describe(since=since)
            assert {obs["code"] for obs in closes} == {4200}
            errors = [
                json.loads(obs["raw"])
                for obs in driver.find(since=since, obs="frame_in")
                if '"pusher:error"' in obs["raw"]
            ]
            assert len(errors) == on_leaving
            assert all(e["data"]["code"] == 4200 for e in errors), errors
            # Spread over the window, not all at once.
            times = sorted(obs["t_ms"] for obs in closes)
            assert times[-1] - times[0] >= 0.4 * WINDOW_S * 1000 * (1 - 1 / on_leaving), times

            moved = {obs["client"] for obs in closes}
            for client in clients:
                if client.name in moved:
                    await client.connected(since=since, timeout_units=10)
            # Every client, moved or not, still receives both channels: resubscribed.
            mark = driver.cursor
            await driver.sdk_trigger([NEWS, PRESENCE], "after", {"n": 1})
            for client in clients:
                await client.event(NEWS, "after", since=mark)
                await client.event(PRESENCE, "after", since=mark)
            # Presence never showed anyone leaving, and still lists everyone.
            removed = [
                obs
                for obs in driver.find(since=since, obs="frame_in")
                if "member_removed" in obs["raw"]
            ]
            assert removed == [], removed
            users = await driver.request("sdk_get", path=f"/channels/{PRESENCE}/users")
            assert users["status"] == 200, users
            ids = sorted(user["id"] for user in json.loads(users["body"])["users"])
            assert ids == sorted(f"u{index}" for index in range(CLIENTS))
            assert balancer.relayed[(staying.host, staying.port)] == CLIENTS
            await asyncio.sleep(0)
