"""Watchlist events through ``pusher.user.watchlist`` (checklist §18 H72, H73; reference §2.13,
§13.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.clients import PusherJsClient
from tests.e2e.node_driver import NodeDriver
from tests.servers import RunningServer

pytestmark = pytest.mark.node

WATCHLIST_EVENTS = "pusher_internal:watchlist_events"


async def _signed_in(
    driver: NodeDriver,
    server: RunningServer,
    name: str,
    user_data: dict[str, Any],
    *,
    bind_watchlist: bool = False,
) -> PusherJsClient:
    client = await driver.pusher(name, server, user_signer="node", user_data=user_data)
    await client.connected()
    if bind_watchlist:
        await client.watchlist_bind("online")
        await client.watchlist_bind("offline")
    await client.signin()
    await client.frame(
        "pusher_internal:subscription_succeeded", channel=f"#server-to-user-{user_data['id']}"
    )
    return client


def _watchlist_calls(driver: NodeDriver, name: str, since: int = 0) -> list[tuple[str, Any]]:
    return [
        (obs["event"], obs["data"])
        for obs in driver.find(since=since, obs="watchlist_event", client=name)
    ]


async def test_h72_watchlist_status_on_signin_then_online_and_offline(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    await _signed_in(driver, pusherd_server, "cy", {"id": "44"})  # online before Ada signs in

    ada = await _signed_in(
        driver, pusherd_server, "ada", {"id": "42", "watchlist": ["43", "44"]}, bind_watchlist=True
    )

    # Right after signin_success: the current status of the whole watchlist (§13.3).
    status = await ada.frame(WATCHLIST_EVENTS)
    assert status["data"] == {
        "events": [{"name": "online", "user_ids": ["44"]}, {"name": "offline", "user_ids": ["43"]}]
    }
    events = [f["event"] for f in ada.frames_in()]
    assert events.index("pusher:signin_success") < events.index(WATCHLIST_EVENTS)
    await driver.wait_until(
        lambda: len(_watchlist_calls(driver, "ada")) == 2, what="status through the watchlist"
    )
    assert _watchlist_calls(driver, "ada") == [
        ("online", {"name": "online", "user_ids": ["44"]}),
        ("offline", {"name": "offline", "user_ids": ["43"]}),
    ]

    # Lin (43) signs in on two sockets: one `online`, and `offline` only when the last closes.
    since = driver.cursor
    lin = await _signed_in(driver, pusherd_server, "lin", {"id": "43"})
    await driver.wait_for(since=since, obs="watchlist_event", client="ada", event="online")
    lin_again = await _signed_in(driver, pusherd_server, "lin-2", {"id": "43"})
    await lin.disconnect()
    await driver.wait_for(since=since, obs="closed", client="lin")
    await ada.user_bind("barrier")
    await driver.sdk_send_to_user("42", "barrier", {})
    await driver.wait_for(since=since, obs="user_event", client="ada", event="barrier")
    assert _watchlist_calls(driver, "ada", since) == [
        ("online", {"name": "online", "user_ids": ["43"]})
    ]

    since = driver.cursor
    await lin_again.disconnect()

    offline = await driver.wait_for(
        since=since, obs="watchlist_event", client="ada", event="offline"
    )
    assert offline["data"] == {"name": "offline", "user_ids": ["43"]}
    [frame] = ada.frames_named(WATCHLIST_EVENTS, since=since)
    assert frame["data"] == {"events": [{"name": "offline", "user_ids": ["43"]}]}
    assert "channel" not in frame


async def test_h73_watchlist_of_101_ids_signs_in_then_gets_4302(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    watchlist = [str(1000 + n) for n in range(101)]

    ada = await _signed_in(driver, pusherd_server, "ada", {"id": "42", "watchlist": watchlist})

    error = await ada.frame("pusher:error")
    assert error["data"] == {
        "code": 4302,
        "message": "Watchlist limit exceeded. Only the first 100 user IDs are accepted.",
    }
    events = [f["event"] for f in ada.frames_in()]
    assert events.index("pusher:signin_success") < events.index("pusher:error")
    # Only the first 100 ids are watched; all are offline.
    [status] = ada.frames_named(WATCHLIST_EVENTS)
    assert status["data"] == {"events": [{"name": "offline", "user_ids": watchlist[:100]}]}
    assert (await ada.user_state())["user_data"]["id"] == "42"
    assert not driver.find(obs="closed", client="ada")
