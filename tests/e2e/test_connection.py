"""pusher-js 8 connection lifecycle (checklist §18 A, E; reference §1, §3, §8)."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.conftest import StartPusherd
from tests.e2e.conftest import OpenDriver
from tests.e2e.node_driver import NodeDriver
from tests.e2e.tcp_proxy import TcpProxy
from tests.servers import RunningServer

pytestmark = pytest.mark.node

SOCKET_ID = re.compile(r"^\d+\.\d+$")


async def test_a1_pusher_js_connects_with_numeric_socket_id(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    client = await driver.pusher("a", pusherd_server)

    socket_id = await client.connected()

    assert SOCKET_ID.match(socket_id), socket_id
    assert await client.state() == {"state": "connected", "socket_id": socket_id}


async def test_a4_unknown_app_key_is_refused_and_pusher_js_does_not_retry(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    client = await driver.pusher("a", pusherd_server, key="no-such-key")

    error = await driver.wait_for(lambda o: _close_code(o) == 4001, obs="conn_error", client="a")
    await driver.wait_for(obs="state", client="a", current="disconnected")
    since = driver.cursor

    # pusher-js's "refused" action sets no timer. Every retry path it has fires within 1 s
    # (0 s for 42xx, 1 s for 41xx and dropped sockets) and would show as `connecting`, so a
    # 2.5-unit window is enough to see that none was taken.
    await driver.assert_quiet(since=since, for_units=2.5, obs="state", client="a")
    assert not driver.find(since=since, obs="connecting_in", client="a")
    assert (await client.state())["state"] == "disconnected", error


async def test_a7_connection_over_app_quota_is_refused_without_retry(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    server = await start_pusherd(max_connections=2)
    driver = await open_driver(server)
    first = await driver.pusher("a", server)
    second = await driver.pusher("b", server)
    await first.connected()
    await second.connected()

    third = await driver.pusher("c", server)

    await driver.wait_for(lambda o: _close_code(o) == 4004, obs="conn_error", client="c")
    await driver.wait_for(obs="state", client="c", current="disconnected")
    since = driver.cursor
    await driver.assert_quiet(since=since, for_units=2.5, obs="state", client="c")
    assert not driver.find(since=since, obs="connecting_in", client="c")
    assert (await third.state())["state"] == "disconnected"
    # The refusal touched nobody else.
    assert (await first.state())["state"] == "connected"
    assert (await second.state())["state"] == "connected"


async def test_a11_shutdown_closes_with_4200_and_pusher_js_reconnects_at_once(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    old = await start_pusherd()
    new = await start_pusherd()
    driver = await open_driver(old)
    async with TcpProxy.start(old.host, old.port) as proxy:
        client = await driver.pusher("a", old, port=proxy.port)
        first_id = await client.connected()
        await client.subscribe("matches")
        proxy.retarget(new.host, new.port)
        since = driver.cursor

        await asyncio.to_thread(old.stop)

        closed = await driver.wait_for(since=since, obs="closed", client="a")
        second_id = await client.connected(since=since)
        resubscribed = await client.event("matches", "pusher:subscription_succeeded", since=since)

    assert closed["code"] == 4200, driver.describe(since=since)
    frames = [f for f in client.frames_in(since=since) if f["event"] == "pusher:error"]
    assert frames and frames[0]["data"]["code"] == 4200, frames
    # 4200 is pusher-js's "retry" action: reconnect at once. Any other close of an established
    # connection waits for its fixed 1000 ms timer, so a new attempt sooner than that proves it.
    reconnecting = await driver.wait_for(
        since=driver.observations.index(closed), obs="state", client="a", current="connecting"
    )
    assert reconnecting["t_ms"] - closed["t_ms"] < 1000, driver.describe(since=since)
    assert second_id != first_id
    assert resubscribed


async def test_b20_pusher_js_resubscribes_every_channel_after_a_dropped_connection(
    pusherd_server: RunningServer, driver: NodeDriver
) -> None:
    user = {"user_id": "u-20", "user_info": {"name": "Ada"}}
    async with TcpProxy.start(pusherd_server.host, pusherd_server.port) as proxy:
        client = await driver.pusher("a", pusherd_server, port=proxy.port, signer="node", user=user)
        first_id = await client.connected()
        channels = ["matches", "private-match.20", "presence-match.20"]
        for channel in channels:
            await client.subscribe(channel)
        since = driver.cursor

        assert proxy.drop_all() == 1

        second_id = await client.connected(since=since, timeout_units=10)
        for channel in channels:
            await client.event(channel, "pusher:subscription_succeeded", since=since)

    assert second_id != first_id
    resent = [f for f in client.frames_out(since=since) if f["event"] == "pusher:subscribe"]
    assert sorted(f["data"]["channel"] for f in resent) == sorted(channels)
    signed = driver.find(since=since, obs="auth_signed", client="a")
    assert {o["channel"] for o in signed} == {"private-match.20", "presence-match.20"}
    assert all(o["result"]["auth"].startswith(f"{pusherd_server.key}:") for o in signed)


async def test_e44_idle_pusher_js_pings_and_stays_connected_with_2s_activity_timeout(
    start_pusherd: StartPusherd, open_driver: OpenDriver
) -> None:
    server = await start_pusherd(activity_timeout_s=2)
    driver = await open_driver(server)
    client = await driver.pusher("a", server)
    socket_id = await client.connected()
    since = driver.cursor

    # Two client pings about 2 s apart, each answered: ~6 s of idleness in all.
    for _ in range(2):
        await driver.wait_for(
            lambda o: '"pusher:ping"' in o["raw"], since=since, obs="frame_out", client="a"
        )
        pong = await driver.wait_for(
            lambda o: '"pusher:pong"' in o["raw"], since=since, obs="frame_in", client="a"
        )
        since = driver.observations.index(pong) + 1
    await driver.assert_quiet(since=since, for_units=2.0, obs="state", client="a")

    assert await client.state() == {"state": "connected", "socket_id": socket_id}
    assert not driver.find(obs="closed", client="a")


def _close_code(obs: dict[str, object]) -> object:
    """The ``code`` pusher-js reports in a refused-handshake error event."""
    error = obs.get("error")
    if not isinstance(error, dict):
        return None
    for part in (error.get("data"), (error.get("error") or {}).get("data")):
        if isinstance(part, dict) and "code" in part:
            return part["code"]
    return None
