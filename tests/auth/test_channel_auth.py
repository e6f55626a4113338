"""The worked examples of reference §5, recomputed through the auth service's answers."""

from __future__ import annotations

import base64

import orjson
import pytest

from auth.channel_auth import (
    AppCredentials,
    channel_auth_body,
    is_valid_socket_id,
    presence_channel_data,
    user_auth_body,
    user_data_for,
)
from pusherd.protocol.channels import ChannelKind
from pusherd.protocol.secret import Secret
from pusherd.protocol.signatures import (
    channel_string_to_sign,
    user_string_to_sign,
    verify_token,
)

KEY = "278d425bdf160c739803"
SECRET = "7ad3773142a6692b25b8"
MASTER = base64.b64encode(bytes(range(32))).decode()
CREDENTIALS = AppCredentials(key=KEY, secret=Secret(SECRET))


def test_private_channel_answer_matches_the_worked_example() -> None:
    body = channel_auth_body(
        credentials=CREDENTIALS,
        socket_id="1234.1234",
        channel_name="private-foobar",
        kind=ChannelKind.PRIVATE,
        channel_data=None,
    )
    assert body == {
        "auth": f"{KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    }


def test_presence_answer_signs_the_exact_channel_data_it_returns() -> None:
    data = '{"user_id":"42","user_info":{"id":42,"name":"Ada"}}'
    body = channel_auth_body(
        credentials=CREDENTIALS,
        socket_id="123.456",
        channel_name="presence-match.7",
        kind=ChannelKind.PRESENCE,
        channel_data=data,
    )
    assert body == {
        "auth": f"{KEY}:391b1db6ccfc4027829aaa4611d2587c1ec1df847dc366ae782ac2460691a8bd",
        "channel_data": data,
    }


def test_presence_channel_data_has_a_string_user_id_and_the_user_info() -> None:
    data = presence_channel_data("42", {"id": "42", "name": "Ada"})
    assert data == '{"user_id":"42","user_info":{"id":"42","name":"Ada"}}'
    body = channel_auth_body(
        credentials=CREDENTIALS,
        socket_id="1.2",
        channel_name="presence-x",
        kind=ChannelKind.PRESENCE,
        channel_data=data,
    )
    assert verify_token(
        body["auth"],
        key=KEY,
        secret=SECRET,
        string_to_sign=channel_string_to_sign("1.2", "presence-x", body["channel_data"]),
    )


def test_encrypted_answer_adds_the_shared_secret_of_the_worked_example() -> None:
    credentials = AppCredentials(
        key=KEY, secret=Secret(SECRET), encryption_master_key_base64=Secret(MASTER)
    )
    body = channel_auth_body(
        credentials=credentials,
        socket_id="1234.1234",
        channel_name="private-encrypted-foo",
        kind=ChannelKind.ENCRYPTED,
        channel_data=None,
    )
    assert body == {
        "auth": f"{KEY}:e85caab4331194145d44feae15aea9539ea50631afacbc593a9555ceadc42357",
        "shared_secret": "E3I6KxLwqP1Rr/p1676Vpnrw23CkRdS5bkX5NazRkeY=",
    }


def test_encrypted_answer_needs_a_master_key() -> None:
    with pytest.raises(ValueError, match="master key"):
        channel_auth_body(
            credentials=CREDENTIALS,
            socket_id="1.2",
            channel_name="private-encrypted-foo",
            kind=ChannelKind.ENCRYPTED,
            channel_data=None,
        )


@pytest.mark.parametrize("master", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_master_key_fails_at_startup_without_echoing_it(master: str) -> None:
    with pytest.raises(ValueError) as info:
        AppCredentials(key=KEY, secret=Secret(SECRET), encryption_master_key_base64=Secret(master))
    assert master not in str(info.value)


def test_user_auth_answer_matches_the_worked_example() -> None:
    body = user_auth_body(
        credentials=CREDENTIALS, socket_id="1234.1234", user_data='{"id":"12345"}'
    )
    assert body == {
        "auth": f"{KEY}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba",
        "user_data": '{"id":"12345"}',
    }


def test_user_data_has_a_string_id_and_verifies() -> None:
    user_data = user_data_for("u42", {"id": "u42", "name": "Ada"})
    assert orjson.loads(user_data) == {"id": "u42", "user_info": {"id": "u42", "name": "Ada"}}
    body = user_auth_body(credentials=CREDENTIALS, socket_id="9.9", user_data=user_data)
    assert verify_token(
        body["auth"], key=KEY, secret=SECRET, string_to_sign=user_string_to_sign("9.9", user_data)
    )


@pytest.mark.parametrize(
    ("socket_id", "is_valid"),
    [
        ("123.456", True),
        ("0.0", True),
        ("123", False),
        ("1.2.3", False),
        ("a.1", False),
        ("1.2\n", False),
        ("١.٢", False),
        ("", False),
        (" 1.2", False),
    ],
)
def test_socket_id_shape_is_digits_dot_digits(socket_id: str, is_valid: bool) -> None:
    assert is_valid_socket_id(socket_id) is is_valid


def test_credentials_never_show_the_secret() -> None:
    assert SECRET not in repr(CREDENTIALS)


def test_answers_equal_what_the_official_python_sdk_produces() -> None:
    """pusher-http-python is the reference an app server would otherwise use (§14.4)."""
    import pusher

    sdk = pusher.Pusher(app_id="3", key=KEY, secret=SECRET, encryption_master_key_base64=MASTER)
    credentials = AppCredentials(
        key=KEY, secret=Secret(SECRET), encryption_master_key_base64=Secret(MASTER)
    )
    private = channel_auth_body(
        credentials=credentials,
        socket_id="123.456",
        channel_name="private-match.7",
        kind=ChannelKind.PRIVATE,
        channel_data=None,
    )
    assert private == sdk.authenticate("private-match.7", "123.456")
    encrypted = channel_auth_body(
        credentials=credentials,
        socket_id="123.456",
        channel_name="private-encrypted-match.7",
        kind=ChannelKind.ENCRYPTED,
        channel_data=None,
    )
    expected = sdk.authenticate("private-encrypted-match.7", "123.456")
    assert encrypted == {
        "auth": expected["auth"],
        "shared_secret": expected["shared_secret"].decode(),
    }
    # Presence: given the SDK's own channel_data bytes, the answer is identical.
    sdk_presence = sdk.authenticate("presence-match.7", "123.456", {"user_id": "42"})
    presence = channel_auth_body(
        credentials=credentials,
        socket_id="123.456",
        channel_name="presence-match.7",
        kind=ChannelKind.PRESENCE,
        channel_data=sdk_presence["channel_data"],
    )
    assert presence == sdk_presence
