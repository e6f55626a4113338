"""``POST /apps/{id}/events`` and ``/batch_events`` (reference §9.2, §9.3, §14.7; checklist
G51–G56, G58, G59, G65, G66, K93, K94)."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.conftest import StartPusherd
from tests.pusherd.http.api import (
    assert_json_error,
    assert_json_success,
    python_sdk,
    signed_request,
    trigger,
)
from tests.pusherd.transport.wsclient import PusherSocket, open_socket
from tests.servers import RunningServer

#: The exact body pusher-php 7.2 (Laravel's ``pusher``/``reverb`` driver) sends (§14.7).
PHP_BODY = (
    b'{"name":"match.update","data":"{\\"id\\":7,\\"home\\":2,\\"away\\":1}","channel":"matches"}'
)


async def _batch(server: RunningServer, items: list[dict[str, Any]]) -> Any:
    return await signed_request(
        server, "POST", f"/apps/{server.app_id}/batch_events", {"batch": items}
    )


async def test_pusher_php_trigger_with_channel_key_is_delivered(
    pusherd_server: RunningServer,
) -> None:
    """G51: pusher-php's exact body (``channel`` key, PHP headers) → HTTP 200 ``{}`` and the
    event is delivered with ``data`` unchanged."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("matches")
        response = await signed_request(
            pusherd_server,
            "POST",
            f"/apps/{pusherd_server.app_id}/events",
            PHP_BODY,
            headers={"X-Pusher-Library": "pusher-http-php 7.2.6"},
        )
        assert assert_json_success(response) == {}
        assert response.content == b"{}"
        assert await client.recv() == {
            "event": "match.update",
            "channel": "matches",
            "data": '{"id":7,"home":2,"away":1}',
        }


async def test_trigger_to_three_channels_reaches_each(pusherd_server: RunningServer) -> None:
    """G52: a Node-style body with ``channels: [a, b, c]`` is delivered on all three channels,
    once to a socket holding all three of them."""
    async with open_socket(pusherd_server) as client:
        for channel in ("a", "b", "c"):
            await client.subscribed(channel)
        body = b'{"name":"my-event","data":"{\\"message\\":\\"hello\\"}","channels":["a","b","c"]}'
        response = await signed_request(
            pusherd_server, "POST", f"/apps/{pusherd_server.app_id}/events", body
        )
        assert assert_json_success(response) == {}
        frames = [await client.recv() for _ in range(3)]
        assert sorted(frame["channel"] for frame in frames) == ["a", "b", "c"]
        for frame in frames:
            assert frame["event"] == "my-event" and frame["data"] == '{"message":"hello"}'
        await client.expect_nothing()


async def test_duplicate_channels_collapse(pusherd_server: RunningServer) -> None:
    """§9.2: duplicate names in ``channels`` collapse; the event arrives once."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("dup")
        body = {"name": "e", "data": "d", "channels": ["dup", "dup"]}
        assert_json_success(await trigger(pusherd_server, body))
        assert (await client.recv())["data"] == "d"
        await client.expect_nothing()


async def test_python_sdk_trigger_delivers_data_unchanged(pusherd_server: RunningServer) -> None:
    """G53: the Python SDK's trigger (``json.dumps`` spacing, ``body_md5``) is accepted; string
    ``data`` arrives unchanged, dict ``data`` arrives as the SDK's ``json.dumps`` text."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("my-channel")
        with python_sdk(pusherd_server) as sdk:
            text = '{"message": "hello",  "n":1}'
            assert await asyncio.to_thread(sdk.trigger, "my-channel", "my-event", text) == {}
            frame = await client.recv()
            assert frame == {"event": "my-event", "channel": "my-channel", "data": text}
            obj = {"message": "héllo", "list": [1, 2]}
            assert await asyncio.to_thread(sdk.trigger, ["my-channel"], "my-event", obj) == {}
            frame = await client.recv()
            # The SDK encodes dict data with json.dumps(..., ensure_ascii=False).
            assert frame["data"] == json.dumps(obj, ensure_ascii=False)


async def test_101_channels_is_400_and_100_is_200(shared_server: RunningServer) -> None:
    """G54: 101 distinct channels in one trigger → 400; 100 → 200."""
    names = [f"ch-{index}" for index in range(101)]
    too_many = await trigger(shared_server, {"name": "e", "data": "d", "channels": names})
    assert_json_error(too_many, 400)
    ok = await trigger(shared_server, {"name": "e", "data": "d", "channels": names[:100]})
    assert assert_json_success(ok) == {}


async def test_data_over_10_kb_is_413_and_10_kb_is_200(pusherd_server: RunningServer) -> None:
    """G55: ``data`` of 10,241 bytes → 413; 10,240 bytes → 200 (UTF-8 bytes, not characters)."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("big")
        over = await trigger(pusherd_server, {"name": "e", "data": "x" * 10_241, "channel": "big"})
        assert_json_error(over, 413)
        # 5,121 two-byte characters are 10,242 bytes though only 5,121 characters.
        wide = await trigger(pusherd_server, {"name": "e", "data": "é" * 5_121, "channel": "big"})
        assert_json_error(wide, 413)
        await client.expect_nothing()
        data = "y" * 10_240
        ok = await trigger(pusherd_server, {"name": "e", "data": data, "channel": "big"})
        assert assert_json_success(ok) == {}
        assert (await client.recv())["data"] == data


@pytest.mark.parametrize(
    "name",
    ["n" * 201, "pusher:subscribe", "pusher_internal:member_added", "pusher:x", ""],
)
async def test_invalid_event_names_are_400(shared_server: RunningServer, name: str) -> None:
    """G56: a 201-character name, a reserved ``pusher:``/``pusher_internal:`` name or an empty
    name → 400."""
    response = await trigger(shared_server, {"name": name, "data": "d", "channel": "c"})
    assert_json_error(response, 400)


async def test_event_name_of_200_characters_and_laravel_names_are_accepted(
    pusherd_server: RunningServer,
) -> None:
    """G56 / §4.2: 200 characters, dots and Laravel's backslashed class names are accepted."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("c")
        for name in ("n" * 200, "App\\Events\\MatchUpdate", "match.update", "client-x"):
            response = await trigger(pusherd_server, {"name": name, "data": "d", "channel": "c"})
            assert assert_json_success(response) == {}
            assert (await client.recv())["event"] == name


@pytest.mark.parametrize(
    "body",
    [
        {"data": "d", "channel": "c"},
        {"name": "e", "channel": "c"},
        {"name": "e", "data": {"not": "a string"}, "channel": "c"},
        {"name": "e", "data": "d"},
        {"name": "e", "data": "d", "channels": []},
        {"name": "e", "data": "d", "channels": "c"},
        {"name": "e", "data": "d", "channel": "c", "channels": ["d"]},
        {"name": "e", "data": "d", "channel": "bad name"},
        {"name": "e", "data": "d", "channel": "x" * 165},
        {"name": "e", "data": "d", "channel": "c", "socket_id": "abc"},
        {"name": "e", "data": "d", "channel": "c", "socket_id": "1.2.3"},
        {"name": "e", "data": "d", "channel": "c", "info": "nonsense"},
        {"name": 5, "data": "d", "channel": "c"},
    ],
)
async def test_invalid_trigger_bodies_are_400(
    shared_server: RunningServer, body: dict[str, Any]
) -> None:
    """§9.2: a missing or invalid field → 400 with a JSON error and nothing published."""
    assert_json_error(await trigger(shared_server, body), 400)


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1,2]", b'"text"', b"null", b"\xff\xfe"], ids=repr
)
async def test_body_that_is_not_a_json_object_is_400(
    shared_server: RunningServer, body: bytes
) -> None:
    """§9.1: a malformed JSON body, or one that is not an object, → 400 (JSON error body)."""
    assert_json_error(await trigger(shared_server, body.decode("latin-1")), 400)


async def test_info_returns_only_applicable_attributes(pusherd_server: RunningServer) -> None:
    """G58 (subscription count off): ``info=user_count,subscription_count`` returns
    ``user_count`` for the presence channel only and no ``subscription_count``."""
    async with open_socket(pusherd_server) as a, open_socket(pusherd_server) as b:
        await a.subscribe_presence(pusherd_server, "presence-room", '{"user_id":"1"}')
        await b.subscribe_presence(pusherd_server, "presence-room", '{"user_id":"1"}')
        await a.subscribed("matches")
        body = {
            "name": "e",
            "data": "d",
            "channels": ["presence-room", "matches"],
            "info": "user_count,subscription_count",
        }
        result = assert_json_success(await trigger(pusherd_server, body))
        assert result == {"channels": {"presence-room": {"user_count": 1}, "matches": {}}}


async def test_info_with_subscription_count_enabled(start_pusherd: StartPusherd) -> None:
    """G58 (subscription count on): ``subscription_count`` for every channel, ``user_count``
    only for presence (distinct users)."""
    server = await start_pusherd(subscription_count_enabled=True)
    async with open_socket(server) as a, open_socket(server) as b:
        await a.subscribe_presence(server, "presence-room", '{"user_id":"1"}')
        await b.subscribe_presence(server, "presence-room", '{"user_id":"1"}')
        await a.subscribed("matches")
        body = {
            "name": "e",
            "data": "d",
            "channels": ["presence-room", "matches", "empty"],
            "info": "user_count,subscription_count",
        }
        result = assert_json_success(await trigger(server, body))
        assert result == {
            "channels": {
                "presence-room": {"user_count": 1, "subscription_count": 2},
                "matches": {"subscription_count": 1},
                "empty": {"subscription_count": 0},
            }
        }


async def test_batch_of_10_is_delivered_and_11_is_400(pusherd_server: RunningServer) -> None:
    """G59: ``batch_events`` with 10 items → 200 ``{}`` and all 10 delivered in order; 11 items
    → 400 and nothing delivered."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("b1")
        await client.subscribed("b2")
        items = [
            {"channel": f"b{1 + index % 2}", "name": f"e{index}", "data": str(index)}
            for index in range(11)
        ]
        assert_json_error(await _batch(pusherd_server, items), 400)
        await client.expect_nothing()
        assert assert_json_success(await _batch(pusherd_server, items[:10])) == {}
        frames = [await client.recv() for _ in range(10)]
        assert [(f["event"], f["channel"], f["data"]) for f in frames] == [
            (item["name"], item["channel"], item["data"]) for item in items[:10]
        ]


async def test_batch_info_is_aligned_by_index(pusherd_server: RunningServer) -> None:
    """G59: an item with ``info`` makes the response ``{"batch":[…]}``, one object per item,
    ``{}`` for items without ``info``."""
    async with open_socket(pusherd_server) as one, open_socket(pusherd_server) as two:
        await one.subscribe_presence(pusherd_server, "presence-room", '{"user_id":"1"}')
        await two.subscribe_presence(pusherd_server, "presence-room", '{"user_id":"2"}')
        items = [
            {"channel": "my-channel", "name": "my-event", "data": '{"x":1}'},
            {"channel": "presence-room", "name": "other", "data": "{}", "info": "user_count"},
            {"channel": "my-channel", "name": "third", "data": "3"},
        ]
        result = assert_json_success(await _batch(pusherd_server, items))
        assert result == {"batch": [{}, {"user_count": 2}, {}]}


@pytest.mark.parametrize(
    "items",
    [
        [],
        [{"channels": ["a"], "name": "e", "data": "d"}],
        [{"channel": "a", "name": "e", "data": "d"}, {"channel": "a", "name": "pusher:x"}],
        [{"channel": "a", "name": "e", "data": "d"}, "not an object"],
    ],
)
async def test_invalid_batches_are_400_and_publish_nothing(
    shared_server: RunningServer, items: list[Any]
) -> None:
    """§9.3: an empty batch, an item with ``channels``, or any invalid item → 400 and nothing
    is published."""
    async with open_socket(shared_server) as client:
        await client.subscribed("a")
        assert_json_error(await _batch(shared_server, items), 400)
        await client.expect_nothing(0.2)


async def test_batch_without_batch_key_is_400(shared_server: RunningServer) -> None:
    """§9.3: a body without a ``batch`` array → 400."""
    response = await signed_request(
        shared_server, "POST", f"/apps/{shared_server.app_id}/batch_events", {"x": []}
    )
    assert_json_error(response, 400)


async def test_encrypted_channel_mixed_with_others_is_400(pusherd_server: RunningServer) -> None:
    """G66: ``private-encrypted-`` together with another channel → 400; alone → 200."""
    mixed = {"name": "e", "data": "d", "channels": ["private-encrypted-x", "matches"]}
    assert_json_error(await trigger(pusherd_server, mixed), 400)
    alone = {"name": "e", "data": "d", "channels": ["private-encrypted-x"]}
    assert assert_json_success(await trigger(pusherd_server, alone)) == {}


async def test_laravel_to_others_excludes_the_sender_socket(pusherd_server: RunningServer) -> None:
    """K93: pusher-php's body with ``socket_id`` (Laravel ``toOthers()``) is not delivered to
    that socket and is delivered to the others."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        await sender.subscribed("matches")
        await other.subscribed("matches")
        body = PHP_BODY[:-1] + f',"socket_id":"{sender.socket_id}"}}'.encode()
        response = await signed_request(
            pusherd_server, "POST", f"/apps/{pusherd_server.app_id}/events", body
        )
        assert assert_json_success(response) == {}
        assert (await other.recv())["event"] == "match.update"
        await sender.expect_nothing()


async def test_laravel_150_channels_in_two_requests_all_delivered(
    pusherd_server: RunningServer,
) -> None:
    """K94: a broadcast to 150 channels, sent as Laravel does (100 + 50 in two requests),
    reaches all 150."""
    names = [f"private-App.Models.User.{index}" for index in range(150)]
    async with AsyncExitStack() as stack:
        clients: list[PusherSocket] = [
            await stack.enter_async_context(open_socket(pusherd_server)) for _ in range(3)
        ]
        for index, name in enumerate(names):
            await clients[index % 3].subscribe_private(pusherd_server, name)
        for chunk in (names[:100], names[100:]):
            body = {"name": "App\\Events\\OrderShipped", "data": '{"id":5}', "channels": chunk}
            assert assert_json_success(await trigger(pusherd_server, body)) == {}
        seen: list[str] = []
        for index, client in enumerate(clients):
            for _ in range(len(names[index::3])):
                frame = await client.recv()
                assert frame["data"] == '{"id":5}', frame
                seen.append(frame["channel"])
            await client.expect_nothing(0.1)
        assert sorted(seen) == sorted(names)


async def test_python_sdk_trigger_batch(pusherd_server: RunningServer) -> None:
    """G59 with the Python SDK's ``trigger_batch`` (``json.dumps`` body)."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("py")
        batch = [{"channel": "py", "name": f"e{index}", "data": f"d{index}"} for index in range(3)]
        with python_sdk(pusherd_server) as sdk:
            assert await asyncio.to_thread(sdk.trigger_batch, batch) == {}
        assert [(await client.recv())["data"] for _ in range(3)] == ["d0", "d1", "d2"]


async def test_batch_item_socket_id_excludes_that_socket(pusherd_server: RunningServer) -> None:
    """§9.3: a batch item's ``socket_id`` excludes that socket from that item only."""
    async with open_socket(pusherd_server) as sender, open_socket(pusherd_server) as other:
        await sender.subscribed("b")
        await other.subscribed("b")
        items = [
            {"channel": "b", "name": "skip-sender", "data": "1", "socket_id": sender.socket_id},
            {"channel": "b", "name": "everyone", "data": "2"},
        ]
        assert assert_json_success(await _batch(pusherd_server, items)) == {}
        assert [(await other.recv())["event"] for _ in range(2)] == ["skip-sender", "everyone"]
        assert (await sender.recv())["event"] == "everyone"
        await sender.expect_nothing()


async def test_presence_channel_event_from_http_has_no_user_id(
    pusherd_server: RunningServer,
) -> None:
    """§2.9: an HTTP event on a presence channel is ``{"event","channel","data"}`` only."""
    async with open_socket(pusherd_server) as client:
        await client.subscribe_presence(pusherd_server, "presence-room", '{"user_id":"1"}')
        body = {"name": "score", "data": "{}", "channel": "presence-room"}
        assert assert_json_success(await trigger(pusherd_server, body)) == {}
        assert await client.recv() == {"event": "score", "channel": "presence-room", "data": "{}"}
