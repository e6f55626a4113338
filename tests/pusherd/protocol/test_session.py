"""The per-socket protocol state machine (reference §2, §6, §7; checklist B, C, D)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pusherd.protocol.channels import ChannelKind, ChannelType, classify_channel
from pusherd.protocol.errors import ClientError, SubscriptionRefused
from pusherd.protocol.frames import (
    PONG_FRAME,
    ClientEvent,
    Ping,
    Pong,
    Signin,
    Subscribe,
    UnknownEvent,
    Unsubscribe,
    parse_client_frame,
)
from pusherd.protocol.limits import Limits
from pusherd.protocol.session import Join, Leave, Member, Relay, Reply, Session, SignIn
from pusherd.protocol.signatures import channel_string_to_sign, sign_token, user_string_to_sign

KEY = "278d425bdf160c739803"
SECRET = "7ad3773142a6692b25b8"
SOCKET_ID = "123.456"
NOW = 1000.0


def make_session(socket_id: str = SOCKET_ID, **limits: Any) -> Session:
    return Session(socket_id=socket_id, app_key=KEY, app_secret=SECRET, limits=Limits(**limits))


def token(channel: str, channel_data: str | None = None, socket_id: str = SOCKET_ID) -> str:
    return sign_token(KEY, SECRET, channel_string_to_sign(socket_id, channel, channel_data))


def subscribe(channel: str, channel_data: str | None = None, auth: str | None = None) -> Subscribe:
    if auth is None:
        auth = token(channel, channel_data) if channel.startswith(("private-", "presence-")) else ""
    return Subscribe(channel, auth, channel_data)


def type_of(channel: str) -> ChannelType:
    channel_type = classify_channel(channel)
    assert channel_type is not None
    return channel_type


def refusal(session: Session, frame: Subscribe) -> SubscriptionRefused:
    with pytest.raises(SubscriptionRefused) as caught:
        session.receive(frame, NOW)
    assert caught.value.channel == frame.channel
    return caught.value


def client_error(session: Session, frame: ClientEvent, now: float = NOW) -> ClientError:
    with pytest.raises(ClientError) as caught:
        session.receive(frame, now)
    return caught.value


def subscribed(session: Session, channel: str, user_id: str | None = None) -> Session:
    """As the transport does once the adapter accepted the join."""
    session.joined(channel, user_id)
    return session


# -- subscribe: public, private, encrypted ---------------------------------------------------------


@pytest.mark.parametrize("channel", ["matches", "cache-scores", "a" * 164])
def test_public_subscribe_joins_without_signature(channel: str) -> None:
    """Checklist 12: ``auth`` is ignored for public channels."""
    for auth in ("", "garbage", "k:s"):
        command = make_session().receive(Subscribe(channel, auth, None), NOW)
        assert command == Join(channel, type_of(channel), None)


@pytest.mark.parametrize(
    "channel", ["private-foobar", "private-cache-x", "private-encrypted-x", "private-App.User.1"]
)
def test_private_subscribe_with_valid_signature_joins(channel: str) -> None:
    command = make_session().receive(subscribe(channel), NOW)
    assert command == Join(channel, type_of(channel), None)


def test_private_subscribe_ignores_channel_data() -> None:
    """§5.1: private signatures are ``socket_id:channel`` even if channel_data is sent."""
    command = make_session().receive(
        Subscribe("private-a", token("private-a"), '{"user_id":"1"}'), NOW
    )
    assert command == Join("private-a", type_of("private-a"), None)


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(token("private-foobar", socket_id="999.1"), id="checklist-16-other-socket"),
        pytest.param(
            "wrongkey:" + token("private-foobar").partition(":")[2], id="checklist-17-wrong-key"
        ),
        pytest.param(token("private-other"), id="other-channel"),
        pytest.param("", id="empty"),
        pytest.param(token("private-foobar").replace(":", ""), id="missing-colon"),
        pytest.param(sign_token(KEY, "other-secret", "123.456:private-foobar"), id="other-secret"),
    ],
)
def test_private_subscribe_with_invalid_signature_is_auth_error_401(auth: str) -> None:
    """Checklist 15: subscription_error with type AuthError and status 401; socket stays open."""
    error = refusal(make_session(), subscribe("private-foobar", auth=auth))
    assert (error.error_type, error.status) == ("AuthError", 401)
    # Like Pusher, the message names the string that should have been signed (§2.6).
    assert "123.456:private-foobar" in error.error
    frame = orjson.loads(error.to_frame())
    assert frame == {
        "event": "pusher:subscription_error",
        "channel": "private-foobar",
        "data": {"type": "AuthError", "error": error.error, "status": 401},
    }


@pytest.mark.parametrize(
    "channel",
    [
        pytest.param("has space", id="checklist-18-space"),
        pytest.param("has#hash", id="checklist-18-hash"),
        pytest.param("a" * 165, id="checklist-18-165"),
        pytest.param("#other", id="other-hash-channel"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_channel_name_is_refused_400(channel: str) -> None:
    error = refusal(make_session(), Subscribe(channel, "", None))
    assert (error.error_type, error.status) == ("InvalidChannel", 400)


def test_channel_name_limit_follows_the_app_setting() -> None:
    session = make_session(max_channel_name_length=200)
    assert isinstance(session.receive(Subscribe("a" * 200, "", None), NOW), Join)
    refusal(session, Subscribe("a" * 201, "", None))


# -- subscribe: #server-to-user --------------------------------------------------------------------


def test_server_to_user_refused_when_not_signed_in() -> None:
    """Checklist 22."""
    error = refusal(make_session(), Subscribe("#server-to-user-42", "", None))
    assert error.status == 403


def test_server_to_user_refused_for_another_user() -> None:
    session = make_session()
    session.user_id = "7"
    assert refusal(session, Subscribe("#server-to-user-42", "", None)).status == 403


def test_server_to_user_accepted_for_the_signed_in_user() -> None:
    session = make_session()
    session.user_id = "42"
    command = session.receive(Subscribe("#server-to-user-42", "", None), NOW)
    assert command == Join("#server-to-user-42", type_of("#server-to-user-42"), None)


# -- subscribe: presence ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel_data", "member"),
    [
        pytest.param(
            '{"user_id":"42","user_info":{"id":42,"name":"Ada"}}',
            Member("42", {"id": 42, "name": "Ada"}),
            id="php-laravel-style",
        ),
        pytest.param(
            '{"user_id": "42", "user_info": {"name": "Ada"}}',
            Member("42", {"name": "Ada"}),
            id="checklist-29-python-spacing-verifies",
        ),
        pytest.param(
            '{"user_id":10,"user_info":{"name":"Mr. Channels"}}',
            Member("10", {"name": "Mr. Channels"}),
            id="checklist-28-integer-user_id-is-decimal-string",
        ),
        pytest.param('{"user_id":"10"}', Member("10", None), id="no-user_info-is-null"),
        pytest.param(
            '{"user_id":"1","user_info":{"a":1},"extra":true}',
            Member("1", {"a": 1}),
            id="6.1-extra-keys-ignored",
        ),
        pytest.param(
            '{"user_id":"a\\/b"}', Member("a/b", None), id="php-escaped-slash-verifies-as-sent"
        ),
    ],
)
def test_presence_subscribe_with_valid_channel_data(channel_data: str, member: Member) -> None:
    command = make_session().receive(subscribe("presence-match.7", channel_data), NOW)
    assert command == Join("presence-match.7", type_of("presence-match.7"), member)


def test_presence_integer_and_string_user_id_are_the_same_member() -> None:
    """Checklist 28: ``10`` and ``"10"`` name one member."""
    as_int = make_session().receive(subscribe("presence-x", '{"user_id":10}'), NOW)
    as_str = make_session().receive(subscribe("presence-x", '{"user_id":"10"}'), NOW)
    assert isinstance(as_int, Join) and isinstance(as_str, Join)
    assert as_int.member is not None and as_str.member is not None
    assert as_int.member.user_id == as_str.member.user_id == "10"


def test_presence_cache_channel_is_presence() -> None:
    command = make_session().receive(subscribe("presence-cache-x", '{"user_id":"1"}'), NOW)
    assert isinstance(command, Join)
    assert command.member == Member("1", None)


def test_presence_signature_over_reserialised_channel_data_fails() -> None:
    """§5: the signature covers the bytes received, so a re-spaced copy does not verify."""
    signed = '{"user_id": "42"}'
    frame = Subscribe("presence-x", token("presence-x", signed), '{"user_id":"42"}')
    assert refusal(make_session(), frame).status == 401


def test_presence_signed_without_channel_data_is_refused() -> None:
    """A private-form signature does not cover the channel_data the client sent."""
    frame = Subscribe("presence-x", token("presence-x"), '{"user_id":"42"}')
    assert refusal(make_session(), frame).error_type == "AuthError"


def test_presence_without_channel_data_when_not_signed_in_is_403() -> None:
    """§6.5: without channel_data a presence subscribe needs a signed-in connection."""
    error = refusal(make_session(), Subscribe("presence-x", token("presence-x"), None))
    assert error.status == 403


def test_presence_channel_data_over_1_kb_is_limit_reached() -> None:
    """Checklist 31."""
    info = "x" * 1024
    channel_data = orjson.dumps({"user_id": "1", "user_info": {"name": info}}).decode()
    error = refusal(make_session(), subscribe("presence-x", channel_data))
    # §6.4 gives no status; §2.6 says 403 for limits.
    assert (error.error_type, error.status) == ("LimitReached", 403)


def test_presence_channel_data_of_1_kb_is_accepted() -> None:
    prefix = '{"user_id":"1","user_info":"'
    channel_data = prefix + "x" * (1024 - len(prefix) - 2) + '"}'
    assert len(channel_data.encode()) == 1024
    assert isinstance(make_session().receive(subscribe("presence-x", channel_data), NOW), Join)


@pytest.mark.parametrize(("length", "is_ok"), [(128, True), (129, False)])
def test_presence_user_id_over_128_characters_is_limit_reached(length: int, is_ok: bool) -> None:
    """Checklist 31, §6.4."""
    channel_data = orjson.dumps({"user_id": "u" * length}).decode()
    session = make_session()
    if is_ok:
        assert isinstance(session.receive(subscribe("presence-x", channel_data), NOW), Join)
    else:
        error = refusal(session, subscribe("presence-x", channel_data))
        # §6.4 gives this one status 400 ("LimitReached/400").
        assert (error.error_type, error.status) == ("LimitReached", 400)


@pytest.mark.parametrize(
    "channel_data",
    [
        pytest.param("not json", id="bad-json"),
        pytest.param("[1]", id="array"),
        pytest.param('"42"', id="string"),
        pytest.param("{}", id="missing-user_id"),
        pytest.param('{"user_id":null}', id="null-user_id"),
        pytest.param('{"user_id":""}', id="empty-user_id"),
        pytest.param('{"user_id":true}', id="boolean-user_id"),
        pytest.param('{"user_id":1.5}', id="float-user_id"),
        pytest.param('{"user_id":["1"]}', id="list-user_id"),
        pytest.param('{"user_id":{"id":1}}', id="object-user_id"),
    ],
)
def test_presence_bad_channel_data_is_400(channel_data: str) -> None:
    """§6.1: unparseable JSON or no usable user_id → subscription_error 400."""
    error = refusal(make_session(), subscribe("presence-x", channel_data))
    assert error.status == 400


def test_presence_bad_signature_is_checked_before_channel_data() -> None:
    """Unsigned garbage is an auth failure, not a parse failure."""
    frame = Subscribe("presence-x", f"{KEY}:{'0' * 64}", "not json")
    assert refusal(make_session(), frame).status == 401


# -- channels per connection -----------------------------------------------------------------------


def test_max_channels_per_connection() -> None:
    session = make_session(max_channels_per_connection=2)
    subscribed(session, "a")
    assert isinstance(session.receive(subscribe("b"), NOW), Join)
    subscribed(session, "b")
    error = refusal(session, subscribe("c"))
    assert (error.error_type, error.status) == ("LimitReached", 403)
    # Re-subscribing a held channel is not a new one (§2.4: reply succeeded again).
    assert isinstance(session.receive(subscribe("a"), NOW), Join)
    session.left("a")
    assert isinstance(session.receive(subscribe("c"), NOW), Join)


# -- unsubscribe -----------------------------------------------------------------------------------


def test_unsubscribe_held_channel_leaves() -> None:
    session = subscribed(make_session(), "matches")
    assert session.receive(Unsubscribe("matches"), NOW) == Leave("matches")


def test_unsubscribe_unknown_channel_is_ignored() -> None:
    """§2.7: no reply, nothing to do."""
    assert make_session().receive(Unsubscribe("matches"), NOW) is None


def test_joined_and_left_track_channels() -> None:
    session = make_session()
    session.joined("presence-x", "42")
    session.joined("matches", None)
    assert session.channels == {"presence-x": "42", "matches": None}
    session.left("presence-x")
    session.left("never")
    assert session.channels == {"matches": None}


# -- ping, pong, others ----------------------------------------------------------------------------


def test_ping_is_answered_with_pong() -> None:
    """§2.3, checklist 43."""
    assert make_session().receive(Ping(), NOW) == Reply(PONG_FRAME)


@pytest.mark.parametrize(
    "frame", [Pong(), UnknownEvent("pusher:unknown"), UnknownEvent("my-event")]
)
def test_pong_and_unknown_events_do_nothing(frame: Pong | UnknownEvent) -> None:
    """§2.16: unknown pusher:* and non-client- events are ignored; checklist 39."""
    assert make_session().receive(frame, NOW) is None


def test_non_client_event_on_a_held_channel_is_never_relayed() -> None:
    """Checklist 39."""
    session = subscribed(make_session(), "private-a")
    raw = b'{"event":"my-event","channel":"private-a","data":{"a":1}}'
    assert session.receive(parse_client_frame(raw), NOW) is None


def signin(user_data: str, socket_id: str = SOCKET_ID, secret: str = SECRET) -> Signin:
    auth = sign_token(KEY, secret, user_string_to_sign(socket_id, user_data))
    return Signin(auth, user_data)


def signin_error(session: Session, frame: Signin) -> ClientError:
    with pytest.raises(ClientError) as caught:
        session.receive(frame, NOW)
    # §2.11: pusher:error 4009 and the socket stays open (no ConnectionRefused).
    assert caught.value.code == 4009
    return caught.value


def test_signin_with_valid_signature_signs_the_connection_in() -> None:
    """§2.11, §13.1, checklist 67: the exact user_data string comes back."""
    session = make_session("1234.1234")
    command = session.receive(signin('{"id":"12345"}', "1234.1234"), NOW)
    assert command == SignIn("12345", '{"id":"12345"}', (), False)
    assert session.user_id == "12345"


def test_signin_worked_example_token_verifies() -> None:
    """§5.4 first row, the token exactly as an SDK's user-auth helper returns it."""
    auth = f"{KEY}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
    command = make_session("1234.1234").receive(Signin(auth, '{"id":"12345"}'), NOW)
    assert isinstance(command, SignIn)


def test_signin_reads_user_info_and_watchlist() -> None:
    user_data = '{"id": "42", "user_info": {"name": "Ada"}, "watchlist": ["7", 9, "7"]}'
    session = make_session()
    command = session.receive(signin(user_data), NOW)
    assert command == SignIn("42", user_data, ("7", "9"), False)
    assert session.user_info == {"name": "Ada"}


def test_signin_watchlist_over_100_is_truncated_and_flagged() -> None:
    """Checklist 73: signin_success, then pusher:error 4302."""
    user_data = orjson.dumps({"id": "1", "watchlist": [str(n) for n in range(101)]}).decode()
    command = make_session().receive(signin(user_data), NOW)
    assert isinstance(command, SignIn)
    assert command.watchlist == tuple(str(n) for n in range(100))
    assert command.is_watchlist_truncated


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(Signin("k:s", '{"id":"1"}'), id="checklist-68-bad-signature"),
        pytest.param(signin('{"id":"1"}', socket_id="999.1"), id="token-for-another-socket"),
        pytest.param(signin('{"id":"1"}', secret="other"), id="other-secret"),
        pytest.param(signin("not json"), id="user_data-not-json"),
        pytest.param(signin('["1"]'), id="user_data-not-object"),
        pytest.param(signin("{}"), id="no-id"),
        pytest.param(signin('{"id":""}'), id="empty-id"),
        pytest.param(signin('{"id":true}'), id="boolean-id"),
        pytest.param(signin(orjson.dumps({"id": "u" * 129}).decode()), id="id-too-long"),
        pytest.param(signin('{"id":"1","watchlist":"7"}'), id="watchlist-not-list"),
        pytest.param(signin('{"id":"1","watchlist":[["7"]]}'), id="watchlist-of-lists"),
    ],
)
def test_signin_failures_are_4009_on_an_open_socket(frame: Signin) -> None:
    session = make_session()
    signin_error(session, frame)
    assert session.user_id is None


def test_signin_as_another_user_on_a_signed_in_connection_fails() -> None:
    """Checklist 71."""
    session = make_session()
    session.receive(signin('{"id":"1"}'), NOW)
    signin_error(session, signin('{"id":"2"}'))
    assert session.user_id == "1"
    assert isinstance(session.receive(signin('{"id":"1"}'), NOW), SignIn)


def test_signed_in_user_may_subscribe_its_server_to_user_channel() -> None:
    """Checklist 69."""
    session = make_session()
    session.receive(signin('{"id":"42"}'), NOW)
    assert isinstance(session.receive(Subscribe("#server-to-user-42", "", None), NOW), Join)
    assert refusal(session, Subscribe("#server-to-user-43", "", None)).status == 403


def test_presence_without_channel_data_uses_the_signed_in_user() -> None:
    """§6.5, checklist 33: private-form signature, member from user_data."""
    session = make_session()
    session.receive(signin('{"id":"42","user_info":{"name":"Ada"}}'), NOW)
    command = session.receive(Subscribe("presence-x", token("presence-x"), None), NOW)
    assert command == Join("presence-x", type_of("presence-x"), Member("42", {"name": "Ada"}))


def test_presence_channel_data_overrides_the_signed_in_user() -> None:
    """§6.5: channel_data, when present, wins."""
    session = make_session()
    session.receive(signin('{"id":"42"}'), NOW)
    command = session.receive(subscribe("presence-x", '{"user_id":"7"}'), NOW)
    assert isinstance(command, Join)
    assert command.member == Member("7", None)


def test_resubscribing_presence_as_another_user_is_refused() -> None:
    session = subscribed(make_session(), "presence-x", "1")
    assert isinstance(session.receive(subscribe("presence-x", '{"user_id":"1"}'), NOW), Join)
    assert refusal(session, subscribe("presence-x", '{"user_id":"2"}')).status == 400


# -- client events ---------------------------------------------------------------------------------


def test_client_event_on_private_channel_is_relayed_to_others() -> None:
    """Checklist 34: the frame is built once, with the data string."""
    session = subscribed(make_session(), "private-chat.1")
    command = session.receive(
        ClientEvent("client-typing", "private-chat.1", '{"typing":true}'), NOW
    )
    assert command == Relay(
        "private-chat.1",
        "client-typing",
        '{"typing":true}',
        None,
        b'{"event":"client-typing","channel":"private-chat.1","data":"{\\"typing\\":true}"}',
    )


@pytest.mark.parametrize("channel", ["private-cache-x", "presence-cache-x"])
def test_client_events_allowed_on_cache_variants(channel: str) -> None:
    session = subscribed(make_session(), channel, "1" if channel.startswith("presence") else None)
    assert isinstance(session.receive(ClientEvent("client-x", channel, "{}"), NOW), Relay)


def test_presence_relay_carries_session_user_id_not_a_forged_one() -> None:
    """Checklist 35, §7 rule 8: the sender's presence user_id, never the client's."""
    session = subscribed(make_session(), "presence-match.7", "42")
    frame = parse_client_frame(
        b'{"event":"client-typing","channel":"presence-match.7","data":{"t":1},"user_id":"666"}'
    )
    command = session.receive(frame, NOW)
    assert isinstance(command, Relay)
    assert command.user_id == "42"
    assert orjson.loads(command.frame) == {
        "event": "client-typing",
        "channel": "presence-match.7",
        "data": '{"t":1}',
        "user_id": "42",
    }


def test_client_events_disabled_for_the_app() -> None:
    """Checklist 41, §7 rule 1: Pusher's text, code null."""
    session = subscribed(make_session(client_events_enabled=False), "private-a")
    error = client_error(session, ClientEvent("client-x", "private-a", "{}"))
    assert error.code is None
    assert error.message == (
        "To send client events, you must enable this feature in the Settings page of your "
        "dashboard."
    )


@pytest.mark.parametrize(
    "channel",
    [
        pytest.param("matches", id="checklist-36-public"),
        pytest.param("cache-x", id="public-cache"),
        pytest.param("private-encrypted-x", id="checklist-37-encrypted"),
        pytest.param("private-encrypted-cache-x", id="encrypted-cache"),
        pytest.param("#server-to-user-1", id="server-to-user"),
        pytest.param("bad name", id="invalid-name"),
    ],
)
def test_client_events_refused_on_channel_kind(channel: str) -> None:
    """§7 rule 3: only private and presence channels, even when subscribed."""
    session = subscribed(make_session(), channel)
    session.user_id = "1"
    error = client_error(session, ClientEvent("client-x", channel, "{}"))
    assert error.code is None


@pytest.mark.parametrize(
    "held", [pytest.param([], id="never-joined"), pytest.param(["private-b"], id="other-channel")]
)
def test_client_event_on_channel_not_subscribed_is_refused(held: list[str]) -> None:
    """Checklist 38: before subscription_succeeded (no ``joined`` yet) or never joined."""
    session = make_session()
    for channel in held:
        subscribed(session, channel)
    # The subscribe may be pending: receive() returned Join, but the adapter has not answered.
    assert isinstance(session.receive(subscribe("private-a"), NOW), Join)
    error = client_error(session, ClientEvent("client-x", "private-a", "{}"))
    assert error.code is None


def test_client_event_after_leaving_is_refused() -> None:
    session = subscribed(make_session(), "private-a")
    session.left("private-a")
    assert client_error(session, ClientEvent("client-x", "private-a", "{}")).code is None


def test_client_event_rate_limit_is_10_per_second_per_connection() -> None:
    """Checklist 40: the 11th in one second is 4301 and dropped; the next second works again."""
    session = subscribed(make_session(), "private-a")
    event = ClientEvent("client-x", "private-a", "{}")
    start = 500.0
    for index in range(10):
        assert isinstance(session.receive(event, start + index * 0.09), Relay)
    error = client_error(session, event, start + 0.95)
    assert error.code == 4301
    assert error.message == "Client event rejected due to rate limit"
    assert orjson.loads(error.to_frame()) == {
        "event": "pusher:error",
        "data": {"code": 4301, "message": "Client event rejected due to rate limit"},
    }
    assert client_error(session, event, start + 0.99).code == 4301
    assert isinstance(session.receive(event, start + 1.0), Relay)


def test_client_event_rate_limit_follows_the_app_setting() -> None:
    session = subscribed(make_session(client_event_rate_per_s=2), "private-a")
    event = ClientEvent("client-x", "private-a", "{}")
    assert isinstance(session.receive(event, NOW), Relay)
    assert isinstance(session.receive(event, NOW), Relay)
    assert client_error(session, event, NOW).code == 4301


def test_refused_client_events_do_not_use_up_the_rate() -> None:
    session = subscribed(make_session(), "private-a")
    too_big = ClientEvent("client-x", "private-a", "x" * 10_241)
    for _ in range(20):
        client_error(session, too_big)
    assert isinstance(session.receive(ClientEvent("client-x", "private-a", "{}"), NOW), Relay)


@pytest.mark.parametrize(("size", "is_ok"), [(10_240, True), (10_241, False)])
def test_client_event_data_over_10_kb_is_refused(size: int, is_ok: bool) -> None:
    """Checklist 41, §7 rule 7: measured in UTF-8 bytes."""
    session = subscribed(make_session(), "private-a")
    event = ClientEvent("client-x", "private-a", "x" * size)
    if is_ok:
        assert isinstance(session.receive(event, NOW), Relay)
    else:
        assert client_error(session, event).code is None


def test_client_event_size_counts_utf8_bytes() -> None:
    session = subscribed(make_session(), "private-a")
    event = ClientEvent("client-x", "private-a", "\u00e9" * 5_121)  # 10,242 bytes
    assert client_error(session, event).code is None


@pytest.mark.parametrize(("length", "is_ok"), [(200, True), (201, False)])
def test_client_event_name_over_200_is_refused(length: int, is_ok: bool) -> None:
    session = subscribed(make_session(), "private-a")
    event = ClientEvent("client-" + "x" * (length - 7), "private-a", "{}")
    if is_ok:
        assert isinstance(session.receive(event, NOW), Relay)
    else:
        assert client_error(session, event).code is None


def test_kind_of_join_is_reported() -> None:
    command = make_session().receive(subscribe("presence-x", '{"user_id":"1"}'), NOW)
    assert isinstance(command, Join)
    assert command.channel_type.kind is ChannelKind.PRESENCE
