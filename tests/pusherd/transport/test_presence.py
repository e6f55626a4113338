"""Presence channels over the WebSocket (reference §2.5, §2.8, §6; checklist C23–C31)."""

from __future__ import annotations

import json
import struct
from typing import Any

from tests.conftest import StartPusherd
from tests.pusherd.transport.wsclient import (
    PusherSocket,
    RawSocket,
    open_socket,
    presence_auth,
)
from tests.servers import RunningServer

CHANNEL = "presence-match.7"


def _member(user_id: object, **info: object) -> str:
    """Compact ``channel_data`` as pusher-php/Laravel sign it."""
    return json.dumps({"user_id": user_id, "user_info": info}, separators=(",", ":"))


def _decoded(frame: dict[str, Any], event: str, channel: str = CHANNEL) -> dict[str, Any]:
    """The JSON-string ``data`` of a ``pusher_internal:member_*`` frame, decoded."""
    assert frame["event"] == event, frame
    assert frame["channel"] == channel, frame
    assert set(frame) == {"event", "channel", "data"}, frame
    assert isinstance(frame["data"], str), frame
    data = json.loads(frame["data"])
    assert isinstance(data, dict), frame
    return data


async def _join(
    server: RunningServer, client: PusherSocket, channel_data: str, channel: str = CHANNEL
) -> dict[str, Any]:
    return await client.subscribe_presence(server, channel, channel_data)


async def test_presence_subscribe_lists_ids_hash_count_including_self(
    pusherd_server: RunningServer,
) -> None:
    """C23: ``subscription_succeeded`` ``data`` decodes to ``presence`` with ``ids``, ``hash``
    and ``count``, the subscriber included."""
    async with open_socket(pusherd_server) as ada, open_socket(pusherd_server) as lin:
        first = await _join(pusherd_server, ada, _member("42", id=42, name="Ada"))
        assert first == {"ids": ["42"], "hash": {"42": {"id": 42, "name": "Ada"}}, "count": 1}
        second = await _join(pusherd_server, lin, _member("43", id=43, name="Lin"))
        assert sorted(second["ids"]) == ["42", "43"]
        assert second["hash"] == {
            "42": {"id": 42, "name": "Ada"},
            "43": {"id": 43, "name": "Lin"},
        }
        assert second["count"] == 2


async def test_member_without_user_info_has_null_in_hash(pusherd_server: RunningServer) -> None:
    """§2.5: a member that supplied no ``user_info`` appears in ``hash`` as ``null``."""
    async with open_socket(pusherd_server) as client:
        presence = await _join(pusherd_server, client, '{"user_id":"7"}')
        assert presence == {"ids": ["7"], "hash": {"7": None}, "count": 1}


async def test_second_user_joining_sends_member_added_exactly_once(
    pusherd_server: RunningServer,
) -> None:
    """C24: when a second user joins, the first user's socket gets exactly one
    ``member_added`` with ``user_id`` and ``user_info``; the joiner gets none for itself."""
    async with open_socket(pusherd_server) as ada, open_socket(pusherd_server) as lin:
        await _join(pusherd_server, ada, _member("42", name="Ada"))
        await _join(pusherd_server, lin, _member("43", id=43, name="Lin"))
        added = _decoded(await ada.recv(), "pusher_internal:member_added")
        assert added == {"user_id": "43", "user_info": {"id": 43, "name": "Lin"}}
        await ada.expect_nothing()
        await lin.expect_nothing()


async def test_same_user_second_socket_produces_no_member_events(
    pusherd_server: RunningServer,
) -> None:
    """C25: the same user opening a second socket triggers no ``member_added`` anywhere and
    ``count`` stays the same."""
    async with (
        open_socket(pusherd_server) as other,
        open_socket(pusherd_server) as tab1,
        open_socket(pusherd_server) as tab2,
    ):
        await _join(pusherd_server, other, _member("1", name="Other"))
        await _join(pusherd_server, tab1, _member("42", name="Ada"))
        _decoded(await other.recv(), "pusher_internal:member_added")
        presence = await _join(pusherd_server, tab2, _member("42", name="Ada"))
        assert presence["count"] == 2 and sorted(presence["ids"]) == ["1", "42"]
        for client in (other, tab1, tab2):
            await client.expect_nothing(0.2)


async def test_member_removed_only_when_last_socket_closes(pusherd_server: RunningServer) -> None:
    """C26: closing one of a user's two sockets sends no ``member_removed``; closing the last
    sends exactly one ``{"user_id":…}`` to the remaining members."""
    async with open_socket(pusherd_server) as watcher:
        await _join(pusherd_server, watcher, _member("1"))
        async with open_socket(pusherd_server) as tab1:
            await _join(pusherd_server, tab1, _member("42"))
            _decoded(await watcher.recv(), "pusher_internal:member_added")
            async with open_socket(pusherd_server) as tab2:
                await _join(pusherd_server, tab2, _member("42"))
            await watcher.expect_nothing()
        removed = _decoded(await watcher.recv(), "pusher_internal:member_removed")
        assert removed == {"user_id": "42"}
        await watcher.expect_nothing()


async def test_unsubscribe_of_last_socket_sends_member_removed(
    pusherd_server: RunningServer,
) -> None:
    """C27: ``pusher:unsubscribe`` of a user's last socket sends ``member_removed``; of a
    non-last socket, nothing."""
    async with (
        open_socket(pusherd_server) as watcher,
        open_socket(pusherd_server) as tab1,
        open_socket(pusherd_server) as tab2,
    ):
        await _join(pusherd_server, watcher, _member("1"))
        await _join(pusherd_server, tab1, _member("42"))
        _decoded(await watcher.recv(), "pusher_internal:member_added")
        await _join(pusherd_server, tab2, _member("42"))
        await tab1.unsubscribe(CHANNEL)
        await watcher.expect_nothing()
        await tab2.unsubscribe(CHANNEL)
        removed = _decoded(await watcher.recv(), "pusher_internal:member_removed")
        assert removed == {"user_id": "42"}
        await watcher.expect_nothing()
        # The channel's roster now holds only the watcher.
        async with open_socket(pusherd_server) as late:
            presence = await _join(pusherd_server, late, _member("5"))
            assert sorted(presence["ids"]) == ["1", "5"] and presence["count"] == 2


async def test_numeric_and_string_user_id_are_the_same_member(
    pusherd_server: RunningServer,
) -> None:
    """C28: ``user_id`` ``10`` and ``"10"`` are one member, and frames carry ``"10"``."""
    async with (
        open_socket(pusherd_server) as watcher,
        open_socket(pusherd_server) as number,
        open_socket(pusherd_server) as string,
    ):
        await _join(pusherd_server, watcher, _member("1"))
        presence = await _join(
            pusherd_server, number, '{"user_id":10,"user_info":{"name":"Mr. Channels"}}'
        )
        assert "10" in presence["ids"] and "10" in presence["hash"]
        added = _decoded(await watcher.recv(), "pusher_internal:member_added")
        assert added == {"user_id": "10", "user_info": {"name": "Mr. Channels"}}
        presence = await _join(pusherd_server, string, '{"user_id":"10"}')
        assert sorted(presence["ids"]) == ["1", "10"] and presence["count"] == 2
        await watcher.expect_nothing()
        await number.close()
        await watcher.expect_nothing()
        await string.close()
        assert _decoded(await watcher.recv(), "pusher_internal:member_removed") == {"user_id": "10"}


async def test_python_spacing_channel_data_verifies(pusherd_server: RunningServer) -> None:
    """C29: ``channel_data`` as Python's ``json.dumps`` writes it (spaces after ``:`` and ``,``)
    verifies, because the exact string is signed, not a re-serialisation."""
    channel_data = '{"user_id": "42", "user_info": {"name": "Ada"}}'
    async with open_socket(pusherd_server) as client:
        presence = await _join(pusherd_server, client, channel_data)
        assert presence == {"ids": ["42"], "hash": {"42": {"name": "Ada"}}, "count": 1}
        # The same data re-serialised compactly is a different string: its token does not fit.
        compact = '{"user_id":"42","user_info":{"name":"Ada"}}'
        auth = presence_auth(pusherd_server, client.socket_id, "presence-other", compact)
        frame = await client.subscribe("presence-other", auth, channel_data)
        assert frame["event"] == "pusher:subscription_error", frame
        assert frame["data"]["type"] == "AuthError" and frame["data"]["status"] == 401, frame


async def test_presence_limit_refuses_new_user_but_not_existing_members_socket(
    start_pusherd: StartPusherd,
) -> None:
    """C30 (limit 3 instead of 100): the 4th distinct user gets ``subscription_error``
    ``LimitReached`` (403) while another socket of an existing member is accepted."""
    server = await start_pusherd(max_presence_members=3)
    async with (
        open_socket(server) as u1,
        open_socket(server) as u2,
        open_socket(server) as u3,
        open_socket(server) as u4,
        open_socket(server) as u1_again,
    ):
        for index, client in enumerate((u1, u2, u3), start=1):
            await _join(server, client, _member(str(index)))
        channel_data = _member("4")
        auth = presence_auth(server, u4.socket_id, CHANNEL, channel_data)
        frame = await u4.subscribe(CHANNEL, auth, channel_data)
        assert frame["event"] == "pusher:subscription_error", frame
        assert frame["channel"] == CHANNEL, frame
        assert frame["data"]["type"] == "LimitReached", frame
        assert frame["data"]["status"] == 403, frame
        presence = await _join(server, u1_again, _member("1"))
        assert presence["count"] == 3
        await u4.ping()
        # A member leaving frees a place for the refused user.
        await u3.unsubscribe(CHANNEL)
        await u3.ping()
        presence = await _join(server, u4, channel_data)
        assert sorted(presence["ids"]) == ["1", "2", "4"], presence


async def test_oversized_channel_data_and_long_user_id_are_refused(
    pusherd_server: RunningServer,
) -> None:
    """C31: ``channel_data`` over 1 KB, or a user id over 128 characters, is refused with
    ``subscription_error``; 128 characters are accepted."""
    big = _member("42", bio="x" * 1100)
    long_id = _member("u" * 129)
    async with open_socket(pusherd_server) as client:
        for channel_data in (big, long_id):
            auth = presence_auth(pusherd_server, client.socket_id, CHANNEL, channel_data)
            frame = await client.subscribe(CHANNEL, auth, channel_data)
            assert frame["event"] == "pusher:subscription_error", frame
            assert frame["channel"] == CHANNEL, frame
            assert frame["data"]["type"] == "LimitReached", frame
            assert frame["data"]["status"] in (400, 403), frame
        presence = await _join(pusherd_server, client, _member("u" * 128))
        assert presence["ids"] == ["u" * 128]


async def test_presence_without_channel_data_is_refused_when_not_signed_in(
    pusherd_server: RunningServer,
) -> None:
    """C33 (refusal half) / §6.5: a presence subscribe without ``channel_data`` on a socket
    that is not signed in → ``subscription_error`` status 403."""
    async with open_socket(pusherd_server) as client:
        auth = f"{pusherd_server.key}:{'0' * 64}"
        frame = await client.subscribe(CHANNEL, auth)
        assert frame["event"] == "pusher:subscription_error", frame
        assert frame["data"]["status"] == 403, frame


async def test_unparseable_channel_data_is_refused_with_400(pusherd_server: RunningServer) -> None:
    """§6.1: validly signed ``channel_data`` that is not JSON or lacks ``user_id`` → 400."""
    async with open_socket(pusherd_server) as client:
        for channel_data in ("not json", '{"user_info":{}}', "[1]", '{"user_id":""}'):
            auth = presence_auth(pusherd_server, client.socket_id, CHANNEL, channel_data)
            frame = await client.subscribe(CHANNEL, auth, channel_data)
            assert frame["event"] == "pusher:subscription_error", frame
            assert frame["data"]["status"] == 400, frame
        await client.ping()


async def test_resubscribing_presence_on_same_socket_does_not_double_count(
    pusherd_server: RunningServer,
) -> None:
    """§2.4: a second subscribe of a presence channel the socket already holds succeeds again
    without sending ``member_added`` or counting a second member; one unsubscribe then
    removes the socket's membership completely."""
    async with open_socket(pusherd_server) as watcher, open_socket(pusherd_server) as tab:
        await _join(pusherd_server, watcher, _member("1"))
        await _join(pusherd_server, tab, _member("42"))
        _decoded(await watcher.recv(), "pusher_internal:member_added")
        presence = await _join(pusherd_server, tab, _member("42"))
        assert presence["count"] == 2 and sorted(presence["ids"]) == ["1", "42"]
        await watcher.expect_nothing()
        await tab.unsubscribe(CHANNEL)
        assert _decoded(await watcher.recv(), "pusher_internal:member_removed") == {"user_id": "42"}
        async with open_socket(pusherd_server) as late:
            presence = await _join(pusherd_server, late, _member("5"))
            assert sorted(presence["ids"]) == ["1", "5"], presence


async def test_resubscribing_presence_as_another_user_leaves_no_ghost_member(
    pusherd_server: RunningServer,
) -> None:
    """§2.4, §6.2: one socket re-subscribing a presence channel with another (validly signed)
    ``channel_data`` (success or refusal) must not count as two members; after it
    unsubscribes, no member of it is
    left in the roster and every ``member_added`` the others saw is matched by a
    ``member_removed``."""
    async with open_socket(pusherd_server) as watcher, open_socket(pusherd_server) as tab:
        await _join(pusherd_server, watcher, _member("1"))
        await _join(pusherd_server, tab, _member("42"))
        added = [_decoded(await watcher.recv(), "pusher_internal:member_added")["user_id"]]
        other = _member("43")
        auth = presence_auth(pusherd_server, tab.socket_id, CHANNEL, other)
        frame = await tab.subscribe(CHANNEL, auth, other)
        # Either answer keeps one membership: success with the count unchanged, or a refusal.
        if frame["event"] == "pusher_internal:subscription_succeeded":
            assert json.loads(frame["data"])["presence"]["count"] == 2, frame
        else:
            assert frame["event"] == "pusher:subscription_error", frame
        await tab.unsubscribe(CHANNEL)
        await tab.ping()
        frames = []
        while True:
            try:
                frames.append(await watcher.recv(timeout=0.3))
            except TimeoutError:
                break
        added += [
            _decoded(f, f["event"])["user_id"]
            for f in frames
            if f["event"] == "pusher_internal:member_added"
        ]
        removed = [
            _decoded(f, f["event"])["user_id"]
            for f in frames
            if f["event"] == "pusher_internal:member_removed"
        ]
        assert sorted(added) == sorted(removed), (added, removed)
        async with open_socket(pusherd_server) as late:
            presence = await _join(pusherd_server, late, _member("5"))
            assert sorted(presence["ids"]) == ["1", "5"], presence


async def test_member_info_is_the_first_sockets(pusherd_server: RunningServer) -> None:
    """§6.2: a user's later socket with different ``user_info`` changes nothing: the ``hash``
    keeps the info of the user's first socket."""
    async with open_socket(pusherd_server) as tab1, open_socket(pusherd_server) as tab2:
        await _join(pusherd_server, tab1, _member("42", name="Ada"))
        presence = await _join(pusherd_server, tab2, _member("42", name="Someone else"))
        assert presence == {"ids": ["42"], "hash": {"42": {"name": "Ada"}}, "count": 1}


async def test_socket_closing_right_after_presence_subscribe_sends_balanced_events(
    pusherd_server: RunningServer,
) -> None:
    """§6.3: a socket that sends a presence subscribe and its close frame in one write leaves
    the others with matching events: no ``member_removed`` for a ``member_added`` they never
    got (nor the reverse), and the user is gone from the roster."""
    async with open_socket(pusherd_server) as watcher:
        await _join(pusherd_server, watcher, _member("1"))
        async with await RawSocket.connect(pusherd_server) as raw:
            established = await raw.recv_json()
            socket_id = json.loads(established["data"])["socket_id"]
            channel_data = _member("42")
            subscribe = {
                "event": "pusher:subscribe",
                "data": {
                    "auth": presence_auth(pusherd_server, socket_id, CHANNEL, channel_data),
                    "channel": CHANNEL,
                    "channel_data": channel_data,
                },
            }
            raw.send_frames((0x1, json.dumps(subscribe).encode()), (0x8, struct.pack("!H", 1000)))
            while True:
                opcode, _ = await raw.recv_frame()
                if opcode == 0x8:
                    break
        events = []
        while True:
            try:
                events.append((await watcher.recv(timeout=0.5))["event"])
            except TimeoutError:
                break
        assert events in (
            [],
            ["pusher_internal:member_added", "pusher_internal:member_removed"],
        ), events
        async with open_socket(pusherd_server) as late:
            presence = await _join(pusherd_server, late, _member("5"))
            assert sorted(presence["ids"]) == ["1", "5"], presence
