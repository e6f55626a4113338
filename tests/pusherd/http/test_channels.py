"""``GET /apps/{id}/channels``, ``…/{name}`` and ``…/{name}/users`` (reference §9.4–§9.6;
checklist G60–G65)."""

from __future__ import annotations

import asyncio
from typing import Any

import pusher.errors
import pytest

from tests.conftest import StartPusherd
from tests.pusherd.http.api import (
    assert_json_error,
    assert_json_success,
    python_sdk,
    signed_request,
)
from tests.pusherd.transport.wsclient import open_socket
from tests.servers import RunningServer


async def _get(server: RunningServer, path: str, **params: str) -> dict[str, Any]:
    response = await signed_request(server, "GET", f"/apps/{server.app_id}{path}", params=params)
    return assert_json_success(response)


async def test_no_channels_is_an_empty_object(pusherd_server: RunningServer) -> None:
    """G60: with nothing occupied the answer is ``{"channels":{}}`` — an object, never ``[]``."""
    response = await signed_request(
        pusherd_server, "GET", f"/apps/{pusherd_server.app_id}/channels"
    )
    assert assert_json_success(response) == {"channels": {}}
    assert response.content == b'{"channels":{}}'


async def test_only_occupied_channels_are_listed(pusherd_server: RunningServer) -> None:
    """G60: every occupied channel maps to ``{}``; channels that only received events, or whose
    last subscriber unsubscribed (the ping after it orders the check), are not listed."""
    async with open_socket(pusherd_server) as one, open_socket(pusherd_server) as two:
        await one.subscribed("matches")
        await two.subscribe_private(pusherd_server, "private-user.42")
        await one.subscribed("left")
        await one.unsubscribe("left")
        await one.ping()
        await signed_request(
            pusherd_server,
            "POST",
            f"/apps/{pusherd_server.app_id}/events",
            {"name": "e", "data": "d", "channel": "only-events"},
        )
        assert await _get(pusherd_server, "/channels") == {
            "channels": {"matches": {}, "private-user.42": {}}
        }
        assert await _get(pusherd_server, "/channels", filter_by_prefix="private-") == {
            "channels": {"private-user.42": {}}
        }


async def test_presence_user_counts_are_distinct_users(pusherd_server: RunningServer) -> None:
    """G61: ``filter_by_prefix=presence-&info=user_count`` returns distinct-user counts, only
    for presence channels."""
    async with (
        open_socket(pusherd_server) as a,
        open_socket(pusherd_server) as b,
        open_socket(pusherd_server) as c,
    ):
        await a.subscribe_presence(pusherd_server, "presence-foobar", '{"user_id":"1"}')
        await b.subscribe_presence(pusherd_server, "presence-foobar", '{"user_id":1}')
        await c.subscribe_presence(pusherd_server, "presence-foobar", '{"user_id":"2"}')
        await c.subscribe_presence(pusherd_server, "presence-another", '{"user_id":"2"}')
        await c.subscribed("matches")
        body = await _get(
            pusherd_server, "/channels", filter_by_prefix="presence-", info="user_count"
        )
        assert body == {
            "channels": {
                "presence-foobar": {"user_count": 2},
                "presence-another": {"user_count": 1},
            }
        }


@pytest.mark.parametrize("prefix", [None, "", "private-", "matches"])
async def test_user_count_without_presence_prefix_is_400(
    shared_server: RunningServer, prefix: str | None
) -> None:
    """G61: ``info=user_count`` without ``filter_by_prefix=presence-…`` → 400."""
    params = {"info": "user_count"}
    if prefix is not None:
        params["filter_by_prefix"] = prefix
    response = await signed_request(
        shared_server, "GET", f"/apps/{shared_server.app_id}/channels", params=params
    )
    assert_json_error(response, 400)


async def test_empty_channel_is_not_occupied(pusherd_server: RunningServer) -> None:
    """G62: ``GET …/channels/{name}`` of an empty channel → exactly ``{"occupied":false}``;
    occupied → ``{"occupied":true}``."""
    assert await _get(pusherd_server, "/channels/matches") == {"occupied": False}
    async with open_socket(pusherd_server) as client:
        await client.subscribed("matches")
        assert await _get(pusherd_server, "/channels/matches") == {"occupied": True}


async def test_channel_info_user_count_on_presence_and_400_on_public(
    pusherd_server: RunningServer,
) -> None:
    """G62: ``info=user_count`` on a presence channel gives distinct users; on a public
    channel → 400."""
    async with open_socket(pusherd_server) as a, open_socket(pusherd_server) as b:
        await a.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id":"1"}')
        await b.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id":"1"}')
        body = await _get(pusherd_server, "/channels/presence-match.7", info="user_count")
        assert body == {"occupied": True, "user_count": 1}
    response = await signed_request(
        pusherd_server,
        "GET",
        f"/apps/{pusherd_server.app_id}/channels/matches",
        params={"info": "user_count"},
    )
    assert_json_error(response, 400)


async def test_channel_info_subscription_count_when_enabled(start_pusherd: StartPusherd) -> None:
    """§9.5: with subscription count enabled, ``info=user_count,subscription_count`` on a
    presence channel returns both (sockets vs distinct users)."""
    server = await start_pusherd(subscription_count_enabled=True)
    async with open_socket(server) as a, open_socket(server) as b:
        await a.subscribe_presence(server, "presence-match.7", '{"user_id":"1"}')
        await b.subscribe_presence(server, "presence-match.7", '{"user_id":"1"}')
        body = await _get(
            server, "/channels/presence-match.7", info="user_count,subscription_count"
        )
        assert body == {"occupied": True, "user_count": 1, "subscription_count": 2}


async def test_presence_users_are_distinct_string_ids(pusherd_server: RunningServer) -> None:
    """G63: ``…/users`` lists distinct ids as strings (numeric ids included); an unoccupied
    presence channel gives ``{"users":[]}``."""
    async with (
        open_socket(pusherd_server) as a,
        open_socket(pusherd_server) as b,
        open_socket(pusherd_server) as c,
    ):
        await a.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id":1}')
        await b.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id":"1"}')
        await c.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id":"2"}')
        body = await _get(pusherd_server, "/channels/presence-match.7/users")
        assert sorted(body["users"], key=str) == [{"id": "1"}, {"id": "2"}]
    assert await _get(pusherd_server, "/channels/presence-empty/users") == {"users": []}


@pytest.mark.parametrize("channel", ["matches", "private-x", "private-encrypted-x", "cache-x"])
async def test_users_of_non_presence_channel_is_400(
    shared_server: RunningServer, channel: str
) -> None:
    """G63: ``…/users`` on a non-presence channel → 400."""
    response = await signed_request(
        shared_server, "GET", f"/apps/{shared_server.app_id}/channels/{channel}/users"
    )
    assert_json_error(response, 400)


async def test_python_sdk_channel_queries(pusherd_server: RunningServer) -> None:
    """G64: the Python SDK's ``channels_info``, ``channel_info`` and ``users_info`` (GETs signed
    with the empty-body ``body_md5``) succeed and parse."""
    async with open_socket(pusherd_server) as a, open_socket(pusherd_server) as b:
        await a.subscribed("matches")
        await a.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id": "42"}')
        await b.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id": "43"}')
        with python_sdk(pusherd_server) as sdk:
            everything = await asyncio.to_thread(sdk.channels_info)
            presence = await asyncio.to_thread(sdk.channels_info, "presence-", ["user_count"])
            one = await asyncio.to_thread(sdk.channel_info, "presence-match.7", ["user_count"])
            empty = await asyncio.to_thread(sdk.channel_info, "nobody-here")
            users = await asyncio.to_thread(sdk.users_info, "presence-match.7")
            with pytest.raises(pusher.errors.PusherBadRequest):
                await asyncio.to_thread(sdk.channel_info, "matches", ["user_count"])
    assert everything == {"channels": {"presence-match.7": {}, "matches": {}}}
    assert presence == {"channels": {"presence-match.7": {"user_count": 2}}}
    assert one == {"occupied": True, "user_count": 2}
    assert empty == {"occupied": False}
    assert sorted(user["id"] for user in users["users"]) == ["42", "43"]


async def test_channel_name_in_path_with_percent_encoding(pusherd_server: RunningServer) -> None:
    """§5.5 step 4: a channel name percent-encoded in the path (``;`` ``@`` ``,`` ``=``) is
    accepted whether the signature covers the raw or the decoded path."""
    name = "presence-a;b@c,d=e"
    async with open_socket(pusherd_server) as client:
        await client.subscribe_presence(pusherd_server, name, '{"user_id":"1"}')
        encoded = "presence-a%3Bb%40c%2Cd%3De"
        decoded_path = f"/apps/{pusherd_server.app_id}/channels/{name}"
        response = await signed_request(pusherd_server, "GET", decoded_path)
        assert assert_json_success(response) == {"occupied": True}
        raw_path = f"/apps/{pusherd_server.app_id}/channels/{encoded}/users"
        response = await signed_request(pusherd_server, "GET", raw_path)
        assert assert_json_success(response) == {"users": [{"id": "1"}]}
