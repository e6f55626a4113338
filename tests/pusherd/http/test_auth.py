"""Request signing and the API's error surface (reference §5.5, §9.1; checklist G57, G65, K95)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pusher
import pusher.errors
import pytest

from tests.conftest import StartPusherd
from tests.pusherd.http.api import (
    assert_json_error,
    assert_json_success,
    signed_request,
    trigger,
)
from tests.pusherd.transport.wsclient import open_socket, presence_auth, private_auth, sign
from tests.servers import TEST_SECRET, RunningServer

BODY = {"name": "e", "data": "d", "channel": "c"}


def test_signing_helpers_reproduce_the_reference_worked_examples() -> None:
    """§5.1, §5.2, §5.5: the test's own signing matches the reference's recomputed digests, so a
    failure elsewhere is the server's, not the helper's."""
    assert (
        sign(TEST_SECRET, "1234.1234:private-foobar")
        == "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    )
    laravel = '{"user_id":"42","user_info":{"id":42,"name":"Ada"}}'
    assert (
        sign(TEST_SECRET, f"123.456:presence-match.7:{laravel}")
        == "391b1db6ccfc4027829aaa4611d2587c1ec1df847dc366ae782ac2460691a8bd"
    )
    trigger_string = (
        "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179"
        "&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
    )
    assert (
        sign(TEST_SECRET, trigger_string)
        == "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
    )


async def test_wrong_signature_is_401_in_pushers_words(pusherd_server: RunningServer) -> None:
    """G57: an ``auth_signature`` made with another secret → 401 ``Invalid signature: …``
    that names the string to sign but never the secret; nothing is published."""
    async with open_socket(pusherd_server) as client:
        await client.subscribed("c")
        response = await signed_request(
            pusherd_server,
            "POST",
            f"/apps/{pusherd_server.app_id}/events",
            BODY,
            secret="not-the-secret",
        )
        message = assert_json_error(response, 401)
        assert message.startswith("Invalid signature"), message
        assert pusherd_server.secret not in message
        await client.expect_nothing()


# 601 s old is always outside; "ahead" needs a margin, as int() floors the test's own clock.
@pytest.mark.parametrize("offset", [-601, 605, -3600])
async def test_timestamp_outside_600s_is_401(shared_server: RunningServer, offset: int) -> None:
    """G57: ``auth_timestamp`` 601 s old (or ahead) → 401 ``Timestamp expired…``."""
    response = await signed_request(
        shared_server,
        "POST",
        f"/apps/{shared_server.app_id}/events",
        BODY,
        timestamp=int(time.time()) + offset,
    )
    assert assert_json_error(response, 401).startswith("Timestamp expired")


async def test_timestamp_inside_window_is_accepted(pusherd_server: RunningServer) -> None:
    """G57: a timestamp 590 s old or ahead is inside the 600 s window."""
    for offset in (-590, 590):
        response = await signed_request(
            pusherd_server,
            "POST",
            f"/apps/{pusherd_server.app_id}/events",
            BODY,
            timestamp=int(time.time()) + offset,
        )
        assert assert_json_success(response) == {}


async def test_body_md5_mismatch_is_401(shared_server: RunningServer) -> None:
    """G57: a correctly signed request whose ``body_md5`` is not the MD5 of the body → 401."""
    response = await signed_request(
        shared_server,
        "POST",
        f"/apps/{shared_server.app_id}/events",
        BODY,
        body_md5="0" * 32,
    )
    assert_json_error(response, 401)


async def test_body_without_body_md5_is_401(shared_server: RunningServer) -> None:
    """§5.5 step 3: a non-empty body without ``body_md5`` → 401."""
    path = f"/apps/{shared_server.app_id}/events"
    query = {
        "auth_key": shared_server.key,
        "auth_timestamp": str(int(time.time())),
        "auth_version": "1.0",
    }
    to_sign = "POST\n" + path + "\n" + "&".join(f"{k}={query[k]}" for k in sorted(query))
    query["auth_signature"] = sign(shared_server.secret, to_sign)
    async with httpx.AsyncClient(base_url=shared_server.http_url) as client:
        response = await client.post(path, params=query, content=json.dumps(BODY))
    assert_json_error(response, 401)


async def test_get_with_empty_body_md5_is_accepted_and_wrong_one_refused(
    pusherd_server: RunningServer,
) -> None:
    """§5.5 step 3: a GET carrying the empty-body MD5 (Python SDK style) is accepted; any other
    ``body_md5`` on an empty body → 401."""
    path = f"/apps/{pusherd_server.app_id}/channels"
    ok = await signed_request(
        pusherd_server, "GET", path, body_md5="d41d8cd98f00b204e9800998ecf8427e"
    )
    assert assert_json_success(ok) == {"channels": {}}
    bad = await signed_request(pusherd_server, "GET", path, body_md5="0" * 32)
    assert_json_error(bad, 401)


@pytest.mark.parametrize("drop", ["auth_key", "auth_timestamp", "auth_version", "auth_signature"])
async def test_missing_auth_parameter_is_401(shared_server: RunningServer, drop: str) -> None:
    """§5.5: each of the auth parameters is required (401 without it)."""
    path = f"/apps/{shared_server.app_id}/channels"
    query = {
        "auth_key": shared_server.key,
        "auth_timestamp": str(int(time.time())),
        "auth_version": "1.0",
    }
    to_sign = "GET\n" + path + "\n" + "&".join(f"{k}={query[k]}" for k in sorted(query))
    query["auth_signature"] = sign(shared_server.secret, to_sign)
    del query[drop]
    async with httpx.AsyncClient(base_url=shared_server.http_url) as client:
        response = await client.get(path, params=query)
    assert_json_error(response, 401)


async def test_wrong_auth_key_or_version_is_401(shared_server: RunningServer) -> None:
    """§5.5 step 1–2: ``auth_key`` of no app, or ``auth_version`` other than 1.0 → 401."""
    path = f"/apps/{shared_server.app_id}/channels"
    assert_json_error(await signed_request(shared_server, "GET", path, key="otherkey"), 401)
    response = await signed_request(shared_server, "GET", path, params={"auth_version": "2.0"})
    assert_json_error(response, 401)


async def test_unknown_app_is_404(shared_server: RunningServer) -> None:
    """G57: an app id no app has → 404 (JSON), for POSTs and GETs."""
    response = await signed_request(shared_server, "POST", "/apps/999/events", BODY)
    assert_json_error(response, 404)
    assert_json_error(await signed_request(shared_server, "GET", "/apps/999/channels"), 404)


async def test_disabled_app_is_403(start_pusherd: StartPusherd) -> None:
    """§9.1: a correctly signed request for a disabled app → 403."""
    server = await start_pusherd(enabled=False)
    assert_json_error(await trigger(server, BODY), 403)
    response = await signed_request(server, "GET", f"/apps/{server.app_id}/channels")
    assert_json_error(response, 403)


async def test_oversized_body_is_413(shared_server: RunningServer) -> None:
    """§9.1: a request body larger than the server's body limit (1 MiB) → 413 JSON."""
    body = json.dumps({"name": "e", "data": "x" * (1_048_576 + 10), "channel": "c"})
    assert_json_error(await trigger(shared_server, body), 413)


async def test_wrong_method_is_405_json(shared_server: RunningServer) -> None:
    """§9.1: a wrong method on an API path → 405 with a JSON body."""
    async with httpx.AsyncClient(base_url=shared_server.http_url) as client:
        for method, path in (
            ("GET", f"/apps/{shared_server.app_id}/events"),
            ("PUT", f"/apps/{shared_server.app_id}/batch_events"),
            ("POST", f"/apps/{shared_server.app_id}/channels"),
            ("DELETE", f"/apps/{shared_server.app_id}/channels/matches"),
        ):
            assert_json_error(await client.request(method, path), 405)


async def test_unknown_path_is_404_json(shared_server: RunningServer) -> None:
    """§9.1: an unknown path → 404 with a JSON body."""
    async with httpx.AsyncClient(base_url=shared_server.http_url) as client:
        for path in ("/nope", "/apps/3", "/apps/3/events/extra", "/apps/3/channels/a/b/c"):
            assert_json_error(await client.get(path), 404)


async def test_python_sdk_with_wrong_secret_gets_bad_auth(pusherd_server: RunningServer) -> None:
    """G57 through the Python SDK: a wrong secret raises ``PusherBadAuth`` (HTTP 401)."""
    client = pusher.Pusher(
        app_id=pusherd_server.app_id,
        key=pusherd_server.key,
        secret="not-the-secret",
        host=pusherd_server.host,
        port=pusherd_server.port,
        ssl=False,
    )
    try:
        with pytest.raises(pusher.errors.PusherBadAuth):
            await asyncio.to_thread(client.trigger, "c", "e", "d")
    finally:
        client._pusher_client.http.session.close()
        client._authentication_client.http.session.close()


async def test_laravel_presence_auth_with_string_user_id_is_accepted(
    pusherd_server: RunningServer,
) -> None:
    """K95: Laravel's ``/broadcasting/auth`` answers (pusher-php ``authorizeChannel`` /
    ``authorizePresenceChannel``: compact JSON, string user id, ``\\/`` escapes) subscribe."""
    async with open_socket(pusherd_server) as ada, open_socket(pusherd_server) as lin:
        private = private_auth(pusherd_server, ada.socket_id, "private-App.Models.User.42")
        assert await ada.subscribed("private-App.Models.User.42", private) == {}
        channel_data = (
            '{"user_id":"42","user_info":{"id":42,"name":"Ada",'
            '"avatar":"https:\\/\\/cdn.test\\/a.png"}}'
        )
        response = {
            "auth": presence_auth(pusherd_server, ada.socket_id, "presence-match.7", channel_data),
            "channel_data": channel_data,
        }
        # pusher-js sends the auth endpoint's answer as it got it.
        await ada.send(
            {
                "event": "pusher:subscribe",
                "data": {**response, "channel": "presence-match.7"},
            }
        )
        frame = await ada.recv()
        assert frame["event"] == "pusher_internal:subscription_succeeded", frame
        presence = json.loads(frame["data"])["presence"]
        info = {"id": 42, "name": "Ada", "avatar": "https://cdn.test/a.png"}
        assert presence == {"ids": ["42"], "hash": {"42": info}, "count": 1}
        await lin.subscribe_presence(pusherd_server, "presence-match.7", '{"user_id":"43"}')
        added = await ada.recv()
        assert json.loads(added["data"]) == {"user_id": "43", "user_info": None}


@pytest.mark.parametrize("timestamp", ["9" * 5000, str(10**20), "0" * 4000 + "1"])
async def test_absurd_timestamp_is_a_401_not_a_crash(
    shared_server: RunningServer, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10 item 12: a 5,000-digit or 10^20 ``auth_timestamp`` is just outside the window:
    401 ``Timestamp expired`` in JSON, as Pusher answers, and nothing logged at ERROR (before the
    fix: ``int()`` or ``datetime`` raised, a 500 and a traceback per request)."""
    with caplog.at_level("ERROR", logger="pusherd"):
        response = await signed_request(
            shared_server,
            "GET",
            f"/apps/{shared_server.app_id}/channels",
            params={"auth_timestamp": timestamp},
        )
    assert assert_json_error(response, 401).startswith("Timestamp expired")
    assert len(response.text) < 400
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
