"""Opening and refusing connections on ``/app/{key}`` (reference §1, §3; checklist A, F48)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from contextlib import AsyncExitStack

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import (
    FRAME_TIMEOUT_S,
    PusherSocket,
    assert_error_frame,
    assert_no_error_logged,
    open_socket,
)
from tests.servers import RunningServer

SOCKET_ID = re.compile(r"^\d+\.\d+$")


async def test_first_frame_is_connection_established_with_string_data(
    shared_server: RunningServer,
) -> None:
    """A2: the first frame is ``connection_established``; ``data`` is a JSON string holding a
    string ``socket_id`` (``^\\d+\\.\\d+$``) and ``activity_timeout`` 120."""
    async with open_socket(shared_server) as client:
        frame = client.first
        assert set(frame) == {"event", "data"}, frame
        assert isinstance(frame["data"], str), frame
        data = json.loads(frame["data"])
        assert set(data) == {"socket_id", "activity_timeout"}, data
        assert isinstance(data["socket_id"], str) and SOCKET_ID.match(data["socket_id"]), data
        assert data["activity_timeout"] == 120 and type(data["activity_timeout"]) is int


async def test_activity_timeout_advertised_is_the_app_setting(
    start_pusherd: StartPusherd,
) -> None:
    """A2 / §1.3: ``activity_timeout`` is the configured positive integer."""
    server = await start_pusherd(activity_timeout_s=7)
    async with open_socket(server) as client:
        assert json.loads(client.first["data"])["activity_timeout"] == 7


async def test_consecutive_connections_never_share_a_socket_id(
    pusherd_server: RunningServer,
) -> None:
    """A3 (bounded to 1,000 connections, opened 20 at a time): every socket id is unique."""
    seen: set[str] = set()
    for _ in range(50):
        async with AsyncExitStack() as stack:
            clients = await asyncio.gather(
                *(stack.enter_async_context(open_socket(pusherd_server)) for _ in range(20))
            )
            for client in clients:
                assert SOCKET_ID.match(client.socket_id), client.socket_id
                seen.add(client.socket_id)
    assert len(seen) == 1000


async def test_unknown_app_key_gets_error_4001_then_close_4001(
    shared_server: RunningServer,
) -> None:
    """A4, F48: ``pusher:error`` 4001 as the first frame, then close code 4001."""
    async with open_socket(shared_server, key="no-such-key", established=False) as client:
        await _expect_first_frame_refusal(client, 4001)


async def test_disabled_app_gets_error_4003_then_close_4003(start_pusherd: StartPusherd) -> None:
    """A5, F48: a disabled app is refused with 4003 (error frame, then close)."""
    server = await start_pusherd(enabled=False)
    async with open_socket(server, established=False) as client:
        await _expect_first_frame_refusal(client, 4003)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", 4008),
        ("client=js&version=8.6.0", 4008),
        ("protocol=", 4008),
        ("protocol=abc", 4006),
        ("protocol=7.0", 4006),
        ("protocol=-7", 4006),
        ("protocol=3", 4007),
        ("protocol=4", 4007),
        ("protocol=8", 4007),
    ],
)
async def test_protocol_version_refusals(
    shared_server: RunningServer, query: str, code: int
) -> None:
    """A6, F48: missing → 4008, not an integer → 4006, outside 5–7 → 4007, each as
    ``pusher:error`` then close with the same code."""
    async with open_socket(shared_server, query=query, established=False) as client:
        await _expect_first_frame_refusal(client, code)


@pytest.mark.parametrize("version", ["5", "6", "7"])
async def test_protocol_versions_5_to_7_are_accepted(
    shared_server: RunningServer, version: str
) -> None:
    """A6: ``protocol=5``, ``6`` and ``7`` get ``connection_established`` and work."""
    query = f"protocol={version}&client=js&version=8.6.0&flash=false"
    async with open_socket(shared_server, query=query) as client:
        await client.ping()


@pytest.mark.parametrize(
    "version",
    [
        pytest.param("9" * 5000, id="5000-digits"),
        pytest.param("7" * 4301, id="past-int-conversion-limit"),
        pytest.param("1" + "0" * 20, id="10**20"),
        pytest.param("0" * 5000, id="5000-zeros"),
    ],
)
async def test_huge_protocol_version_gets_4007_without_a_traceback(
    shared_server: RunningServer, caplog: pytest.LogCaptureFixture, version: str
) -> None:
    """Issue 10 item 12: ``protocol=<5,000 digits>`` gave 101, then a dropped socket and "Fatal
    error on transport" (``int()`` refuses over 4,300 digits). It is an integer outside 5–7:
    ``pusher:error`` 4007 then close 4007, as for ``protocol=8``."""
    caplog.set_level(logging.WARNING)
    async with open_socket(shared_server, query=f"protocol={version}", established=False) as c:
        await _expect_first_frame_refusal(c, 4007)
    assert_no_error_logged(caplog)


async def test_protocol_version_with_leading_zeros_is_its_value(
    shared_server: RunningServer,
) -> None:
    """``protocol=007`` is the integer 7, however many zeros lead."""
    async with open_socket(shared_server, query="protocol=" + "0" * 5000 + "7") as client:
        await client.ping()


async def _upgrade_response(server: RunningServer, target: str, extra_headers: str = "") -> bytes:
    """The status line of the server's answer to a hand-written upgrade request."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            (
                f"GET {target} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"{extra_headers}\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), FRAME_TIMEOUT_S)
        return head.split(b"\r\n", 1)[0]
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("target", "extra_headers", "status"),
    [
        pytest.param("//[::1/app/{key}?protocol=7", "", b"404", id="unparsable-target"),
        pytest.param(
            "/app/{key}?protocol=7",
            "Origin: http://a.example\r\nOrigin: http://b.example\r\n",
            b"400",
            id="two-origin-headers",
        ),
    ],
)
async def test_malformed_upgrade_is_refused_without_a_traceback(
    shared_server: RunningServer,
    caplog: pytest.LogCaptureFixture,
    target: str,
    extra_headers: str,
    status: bytes,
) -> None:
    """An upgrade target ``urlsplit`` cannot parse, or two ``Origin`` headers, raised inside the
    protocol callback (a dropped socket and "Fatal error on transport"); now an HTTP refusal."""
    caplog.set_level(logging.WARNING)
    line = await _upgrade_response(
        shared_server, target.format(key=shared_server.key), extra_headers
    )
    assert line.split(b" ")[1] == status, line
    assert_no_error_logged(caplog)


async def test_connection_over_app_cap_gets_4004(start_pusherd: StartPusherd) -> None:
    """A7, F48: with a cap of 2, the third connection gets ``pusher:error`` 4004 and close 4004;
    the first two are untouched, and a slot freed by a close can be used again."""
    server = await start_pusherd(max_connections=2)
    async with open_socket(server) as first, open_socket(server) as second:
        async with open_socket(server, established=False) as third:
            await _expect_first_frame_refusal(third, 4004)
        await first.ping()
        await second.ping()
        await second.close()
        await asyncio.wait_for(second.connection.wait_closed(), FRAME_TIMEOUT_S)
        async with open_socket(server) as again:
            await again.ping()


@pytest.mark.parametrize(
    "path",
    ["/", "/apps/278d425bdf160c739803", "/app/", "/app/278d425bdf160c739803/x", "/pusher/app/k"],
)
async def test_upgrade_on_other_path_is_refused_with_404(
    shared_server: RunningServer, path: str
) -> None:
    """A8: a WebSocket upgrade outside ``/app/{key}`` is refused before the upgrade (HTTP 404)."""
    url = f"ws://{shared_server.host}:{shared_server.port}{path}?protocol=7"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, open_timeout=FRAME_TIMEOUT_S):
            pass
    assert refused.value.response.status_code == 404


async def test_path_prefix_moves_the_endpoint(start_pusherd: StartPusherd) -> None:
    """§1.1, A8: with ``path_prefix="/ws"`` the endpoint is ``/ws/app/{key}`` and the bare
    ``/app/{key}`` is refused with 404."""
    server = await start_pusherd(path_prefix="/ws")
    async with open_socket(server, path=f"/ws/app/{server.key}?protocol=7") as client:
        await client.ping()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.ws_url(), open_timeout=FRAME_TIMEOUT_S):
            pass
    assert refused.value.response.status_code == 404


async def test_graceful_stop_closes_every_socket_with_4200(start_pusherd: StartPusherd) -> None:
    """A11, F48: ``server.stop()`` sends ``pusher:error`` 4200 and closes with 4200, on idle
    sockets and on subscribed ones alike."""
    server = await start_pusherd()
    async with open_socket(server) as idle, open_socket(server) as subscribed:
        await subscribed.subscribed("matches")
        stopping = asyncio.create_task(asyncio.to_thread(server.stop))
        try:
            for client in (idle, subscribed):
                await client.expect_refused(4200)
        finally:
            await asyncio.wait_for(stopping, 20)


async def test_graceful_stop_message_is_the_reference_text(start_pusherd: StartPusherd) -> None:
    """A11, §1.2 table: the 4200 sent on shutdown says ``Generic reconnect immediately``."""
    server = await start_pusherd()
    async with open_socket(server) as client:
        stopping = asyncio.create_task(asyncio.to_thread(server.stop))
        try:
            message = await client.expect_refused(4200)
        finally:
            await asyncio.wait_for(stopping, 20)
    assert message == "Generic reconnect immediately"


async def test_origin_not_allowed_gets_4009(start_pusherd: StartPusherd) -> None:
    """§1.2 origin check: with ``allowed_origins`` set, another Origin is refused with
    ``pusher:error`` 4009 then close 4009; the listed Origin connects."""
    server = await start_pusherd(allowed_origins=("https://ok.test",))
    async with open_socket(server, origin="https://evil.test", established=False) as other:
        await _expect_first_frame_refusal(other, 4009)
    async with open_socket(server, established=False) as missing:
        await _expect_first_frame_refusal(missing, 4009)
    async with open_socket(server, origin="https://ok.test") as allowed:
        await allowed.ping()


async def test_refusal_of_one_connection_leaves_others_alone(start_pusherd: StartPusherd) -> None:
    """A4/A7: refusing a newcomer does not disturb an established socket."""
    server = await start_pusherd(max_connections=1)
    async with open_socket(server) as first:
        async with open_socket(server, key="nope", established=False) as unknown:
            await _expect_first_frame_refusal(unknown, 4001)
        async with open_socket(server, established=False) as over:
            await _expect_first_frame_refusal(over, 4004)
        await first.ping()


#: The ``message`` of each handshake refusal, from the table of reference §1.2.
REFUSAL_MESSAGES = {
    4001: "Application does not exist",
    4003: "Application disabled",
    4004: "Application is over connection quota",
    4006: "Invalid version string format",
    4007: "Unsupported protocol version",
    4008: "No protocol version supplied",
}


async def _expect_first_frame_refusal(client: PusherSocket, code: int) -> None:
    """The handshake's first frame is the ``pusher:error`` (pusher-js reads it as the
    handshake result) with the §1.2 message, then the close carries the same code (F48)."""
    message = assert_error_frame(client.first, code)
    if code in REFUSAL_MESSAGES:
        assert message == REFUSAL_MESSAGES[code], client.first
    await client.expect_closed(code)
