"""Signatures against every worked example of reference §5 (docs' credentials, recomputed)."""

from __future__ import annotations

import base64

import pytest

from pusherd.protocol.signatures import (
    EMPTY_BODY_MD5,
    body_md5,
    channel_string_to_sign,
    encrypted_shared_secret,
    http_string_to_sign,
    sign,
    sign_token,
    user_string_to_sign,
    verify_token,
)

KEY = "278d425bdf160c739803"
SECRET = "7ad3773142a6692b25b8"
AUTH = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0"
AUTH_PARAMS = [
    ("auth_key", KEY),
    ("auth_timestamp", "1353088179"),
    ("auth_version", "1.0"),
]


# -- §5.1 private channels, §5.2 presence channels ------------------------------------------------

CHANNEL_EXAMPLES = [
    # (socket_id, channel, channel_data, string to sign, signature)
    pytest.param(
        "1234.1234",
        "private-foobar",
        None,
        "1234.1234:private-foobar",
        "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
        id="5.1-private-foobar",
    ),
    pytest.param(
        "123.456",
        "private-user.42",
        None,
        "123.456:private-user.42",
        "cc755d0de08515d3132ab27663fdb1829f60713137b5ad81dea653365af2ee34",
        id="5.1-private-user.42",
    ),
    pytest.param(
        "1234.1234",
        "presence-foobar",
        '{"user_id":10,"user_info":{"name":"Mr. Channels"}}',
        '1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Channels"}}',
        # The corrected digest (§17.3 item 16), not the docs' "Mr. Pusher" leftover.
        "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80",
        id="5.2-presence-mr-channels-corrected",
    ),
    pytest.param(
        "123.456",
        "presence-match.7",
        '{"user_id":"42","user_info":{"id":42,"name":"Ada"}}',
        '123.456:presence-match.7:{"user_id":"42","user_info":{"id":42,"name":"Ada"}}',
        "391b1db6ccfc4027829aaa4611d2587c1ec1df847dc366ae782ac2460691a8bd",
        id="5.2-presence-php-laravel-style",
    ),
    pytest.param(
        "123.456",
        "presence-match.7",
        '{"user_id": "42", "user_info": {"name": "Ada"}}',
        '123.456:presence-match.7:{"user_id": "42", "user_info": {"name": "Ada"}}',
        "89aab5cda59df285688ebdc3219083d4809b61cde8ae45e8e5a74294fecd88e2",
        id="5.2-presence-python-sdk-spacing",
    ),
    pytest.param(
        "1234.1234",
        "private-encrypted-foo",
        None,
        "1234.1234:private-encrypted-foo",
        "e85caab4331194145d44feae15aea9539ea50631afacbc593a9555ceadc42357",
        id="5.3-encrypted-uses-private-form",
    ),
]


@pytest.mark.parametrize(
    ("socket_id", "channel", "channel_data", "string_to_sign", "signature"), CHANNEL_EXAMPLES
)
def test_channel_auth_worked_examples(
    socket_id: str, channel: str, channel_data: str | None, string_to_sign: str, signature: str
) -> None:
    assert channel_string_to_sign(socket_id, channel, channel_data) == string_to_sign
    assert sign(SECRET, string_to_sign) == signature
    token = sign_token(KEY, SECRET, string_to_sign)
    assert token == f"{KEY}:{signature}"
    assert verify_token(token, key=KEY, secret=SECRET, string_to_sign=string_to_sign)


def test_presence_docs_digest_belongs_to_mr_pusher_not_mr_channels() -> None:
    """§17.3 item 16: the docs' printed digest signs the pre-rename string."""
    docs_digest = "afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"
    old = '1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Pusher"}}'
    new = '1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Channels"}}'
    assert sign(SECRET, old) == docs_digest
    assert not verify_token(f"{KEY}:{docs_digest}", key=KEY, secret=SECRET, string_to_sign=new)


def test_presence_signature_covers_exact_bytes_so_respacing_fails() -> None:
    """§5: never re-serialise channel_data; Python spacing signs different bytes."""
    python_style = '{"user_id": "42", "user_info": {"name": "Ada"}}'
    compact = '{"user_id":"42","user_info":{"name":"Ada"}}'
    token = sign_token(KEY, SECRET, channel_string_to_sign("123.456", "presence-x", python_style))
    assert not verify_token(
        token,
        key=KEY,
        secret=SECRET,
        string_to_sign=channel_string_to_sign("123.456", "presence-x", compact),
    )


# -- §5.3 encrypted channels -----------------------------------------------------------------------


def test_encrypted_shared_secret_is_sha256_of_channel_then_master_key() -> None:
    master_key = base64.b64decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    assert master_key == bytes(range(32))
    assert (
        encrypted_shared_secret("private-encrypted-foo", master_key)
        == "E3I6KxLwqP1Rr/p1676Vpnrw23CkRdS5bkX5NazRkeY="
    )


# -- §5.4 signin -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("socket_id", "user_data", "signature"),
    [
        pytest.param(
            "1234.1234",
            '{"id":"12345"}',
            "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba",
            id="id-only",
        ),
        pytest.param(
            "123.456",
            '{"id":"42","user_info":{"name":"Ada"},"watchlist":["7","9"]}',
            "596eece74abd3accf24fc08d02786867efc1405e95d09a8782fda8ddd4952efc",
            id="user_info-and-watchlist",
        ),
    ],
)
def test_signin_worked_examples(socket_id: str, user_data: str, signature: str) -> None:
    string_to_sign = user_string_to_sign(socket_id, user_data)
    assert string_to_sign == f"{socket_id}::user::{user_data}"
    assert sign(SECRET, string_to_sign) == signature
    assert verify_token(f"{KEY}:{signature}", key=KEY, secret=SECRET, string_to_sign=string_to_sign)


# -- §5.5 HTTP API request signing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "md5"),
    [
        pytest.param(
            b'{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}',
            "ec365a775a4cd0599faeb73354201b6f",
            id="example-1-trigger",
        ),
        pytest.param(
            b'{"batch":[{"channel":"my-channel","name":"my-event","data":"{\\"x\\":1}"},'
            b'{"channel":"presence-room","name":"other","data":"{}","info":"user_count"}]}',
            "8a67746a4c0f9dd6bbcf0de7c64a1ec8",
            id="example-5-batch",
        ),
        pytest.param(b"{}", "99914b932bd37a50b983c5e7c90ae93b", id="example-6-terminate"),
        pytest.param(b"", EMPTY_BODY_MD5, id="empty-body-python-sdk"),
    ],
)
def test_body_md5_worked_examples(body: bytes, md5: str) -> None:
    assert body_md5(body) == md5


HTTP_EXAMPLES = [
    # (method, path, extra params in wire order, string to sign, signature)
    pytest.param(
        "POST",
        "/apps/3/events",
        [("body_md5", "ec365a775a4cd0599faeb73354201b6f")],
        f"POST\n/apps/3/events\n{AUTH}&body_md5=ec365a775a4cd0599faeb73354201b6f",
        "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
        id="example-1-trigger",
    ),
    pytest.param(
        "GET",
        "/apps/3/channels",
        [("filter_by_prefix", "presence-"), ("info", "user_count")],
        f"GET\n/apps/3/channels\n{AUTH}&filter_by_prefix=presence-&info=user_count",
        "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291",
        id="example-2-channels-node-php",
    ),
    pytest.param(
        "GET",
        "/apps/3/channels",
        [("info", "user_count"), ("filter_by_prefix", "presence-"), ("body_md5", EMPTY_BODY_MD5)],
        f"GET\n/apps/3/channels\n{AUTH}&body_md5=d41d8cd98f00b204e9800998ecf8427e"
        "&filter_by_prefix=presence-&info=user_count",
        "f3f17c61ae491cc9085db68b22076e9b772e3bcb301659d655153ee3f9782aba",
        id="example-3-channels-python-empty-md5",
    ),
    pytest.param(
        "GET",
        "/apps/3/channels/presence-match.7",
        [("info", "user_count,subscription_count")],
        f"GET\n/apps/3/channels/presence-match.7\n{AUTH}&info=user_count,subscription_count",
        "74c95bca205845db0e8e5d6a632503108925e1b61fd11c129cf27c85dba030b4",
        id="example-4-channel-info",
    ),
    pytest.param(
        "GET",
        "/apps/3/channels/presence-match.7/users",
        [],
        f"GET\n/apps/3/channels/presence-match.7/users\n{AUTH}",
        "041f7218b754c2ad423f79b67f8518e7d575290cbf402f43973098adae426edb",
        id="example-4-users",
    ),
    pytest.param(
        "POST",
        "/apps/3/batch_events",
        [("body_md5", "8a67746a4c0f9dd6bbcf0de7c64a1ec8")],
        f"POST\n/apps/3/batch_events\n{AUTH}&body_md5=8a67746a4c0f9dd6bbcf0de7c64a1ec8",
        "80bc7b9f278c8ecdc0ca26c4836d22987d818d18e6d75bc493e5e985e2e2ff5c",
        id="example-5-batch",
    ),
    pytest.param(
        "POST",
        "/apps/3/users/42/terminate_connections",
        [("body_md5", "99914b932bd37a50b983c5e7c90ae93b")],
        f"POST\n/apps/3/users/42/terminate_connections\n{AUTH}"
        "&body_md5=99914b932bd37a50b983c5e7c90ae93b",
        "2829710742ff5f799010258297d09016e2366257e3e954039eeda349073a2bcf",
        id="example-6-terminate",
    ),
    pytest.param(
        "POST",
        "/users/42/terminate_connections",
        [("body_md5", "99914b932bd37a50b983c5e7c90ae93b")],
        f"POST\n/users/42/terminate_connections\n{AUTH}&body_md5=99914b932bd37a50b983c5e7c90ae93b",
        "103f2a90361bc4bcd8407c86f261563b23281fea1602c29fc81ac0ec1b7ec5a7",
        id="example-6-terminate-python-sdk-path",
    ),
]


@pytest.mark.parametrize(("method", "path", "extra", "string_to_sign", "signature"), HTTP_EXAMPLES)
def test_http_string_to_sign_worked_examples(
    method: str, path: str, extra: list[tuple[str, str]], string_to_sign: str, signature: str
) -> None:
    # Params arrive in wire order with auth_signature among them; it is left out and the rest
    # sorted by key.
    params = [*extra, ("auth_signature", signature), *reversed(AUTH_PARAMS)]
    assert http_string_to_sign(method, path, params) == string_to_sign
    assert sign(SECRET, string_to_sign) == signature


def test_http_string_to_sign_upper_cases_method_and_lower_cases_keys() -> None:
    params = [("AUTH_KEY", KEY), ("Auth_Timestamp", "1353088179"), ("auth_version", "1.0")]
    assert (
        http_string_to_sign("get", "/apps/3/channels", params) == f"GET\n/apps/3/channels\n{AUTH}"
    )


def test_http_string_to_sign_sorts_keys_by_byte_order() -> None:
    params = [("b", "2"), ("a_b", "3"), ("a", "1"), ("B2", "4")]
    # Lower-cased first: a, a_b, b, b2 ('_' 0x5f sorts after end of "a").
    assert http_string_to_sign("GET", "/p", params) == "GET\n/p\na=1&a_b=3&b=2&b2=4"


def test_http_string_to_sign_values_are_not_escaped() -> None:
    params = [("filter_by_prefix", "presence-"), ("info", "user_count,subscription_count")]
    assert http_string_to_sign("GET", "/p", params) == (
        "GET\n/p\nfilter_by_prefix=presence-&info=user_count,subscription_count"
    )


@pytest.mark.parametrize(
    "params",
    [
        pytest.param([("channels[]", "a"), ("channels[]", "b")], id="brackets"),
        # What Guzzle (pusher-php's HTTP client) puts on the wire for ['channels' => ['a', 'b']].
        pytest.param([("channels[0]", "a"), ("channels[1]", "b")], id="guzzle-indexed"),
        pytest.param([("channels", "a"), ("channels", "b")], id="repeated-plain"),
    ],
)
def test_http_string_to_sign_php_array_values_join_with_comma(
    params: list[tuple[str, str]],
) -> None:
    """pusher-php's ``array_implode`` signs ``['channels' => ['a', 'b']]`` as ``channels=a,b``."""
    assert http_string_to_sign("GET", "/apps/3/channels", [*AUTH_PARAMS, *params]) == (
        f"GET\n/apps/3/channels\n{AUTH}&channels=a,b"
    )


# -- §5.6 webhooks ---------------------------------------------------------------------------------


def test_webhook_signature_is_hmac_of_raw_body() -> None:
    body = '{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}'
    assert sign(SECRET, body) == "c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf"


# -- verify_token rejects -------------------------------------------------------------------------

_PRIVATE = "1234.1234:private-foobar"
_GOOD_SIG = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"


@pytest.mark.parametrize(
    ("token", "string_to_sign"),
    [
        pytest.param(f"other-key:{_GOOD_SIG}", _PRIVATE, id="checklist-17-wrong-key-part"),
        pytest.param(f":{_GOOD_SIG}", _PRIVATE, id="empty-key-part"),
        pytest.param(f"{KEY}:{_GOOD_SIG}", "9999.1:private-foobar", id="checklist-16-other-socket"),
        pytest.param(f"{KEY}:{_GOOD_SIG}", "1234.1234:private-other", id="other-channel"),
        pytest.param(f"{KEY}{_GOOD_SIG}", _PRIVATE, id="missing-colon"),
        pytest.param(_GOOD_SIG, _PRIVATE, id="signature-only"),
        pytest.param("", _PRIVATE, id="empty-token"),
        pytest.param(f"{KEY}:", _PRIVATE, id="empty-signature"),
        pytest.param(f"{KEY}:{_GOOD_SIG.upper()}", _PRIVATE, id="upper-case-hex"),
        pytest.param(f"{KEY}:{_GOOD_SIG[:-1]}", _PRIVATE, id="truncated-signature"),
        pytest.param(f"{KEY}:{_GOOD_SIG}:extra", _PRIVATE, id="trailing-part"),
        pytest.param(f"{KEY}:{_GOOD_SIG}é", _PRIVATE, id="non-ascii-tail"),
    ],
)
def test_verify_token_rejects(token: str, string_to_sign: str) -> None:
    assert not verify_token(token, key=KEY, secret=SECRET, string_to_sign=string_to_sign)


def test_verify_token_rejects_token_signed_with_another_secret() -> None:
    token = sign_token(KEY, "another-secret", _PRIVATE)
    assert not verify_token(token, key=KEY, secret=SECRET, string_to_sign=_PRIVATE)


def test_verify_token_uses_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    """§5: tokens are compared with ``hmac.compare_digest``, for the key and the signature."""
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert not verify_token(f"bad:{_GOOD_SIG}", key=KEY, secret=SECRET, string_to_sign=_PRIVATE)
    # Both parts are compared even when the key already failed: timing does not tell which.
    assert (b"bad", KEY.encode()) in calls
    assert (_GOOD_SIG.encode(), _GOOD_SIG.encode()) in calls
