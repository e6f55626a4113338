"""Properties of the HTTP API's query parsing and signature check (issue 10, "keep them fixed"):
any query string and body give a verdict (accepted, or an :class:`ApiError`), never another
exception, so no request can turn into a 500 and a traceback."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pusherd.config import AppConfig, Secret
from pusherd.http.auth import check_query, query_params, verify_signed_request
from pusherd.protocol.errors import ApiError
from pusherd.protocol.signatures import http_string_to_sign, sign

FAST = settings(max_examples=300, deadline=None)
APP = AppConfig(app_id="3", key="278d425bdf160c739803", secret=Secret("7ad3773142a6692b25b8"))
NOW = 1_700_000_000.0
PATH = "/apps/3/events"

timestamps = st.one_of(
    st.integers(min_value=0, max_value=10**30).map(str),
    st.just(str(int(NOW))),
    st.text(alphabet="0123456789+-. ²٣", max_size=40),
    st.text(alphabet="9", min_size=4000, max_size=6000),
)
auth_parts = st.fixed_dictionaries(
    {},
    optional={
        "auth_key": st.sampled_from([APP.key, "", "other", APP.key.upper()]),
        "auth_timestamp": timestamps,
        "auth_version": st.sampled_from(["1.0", "1", "", "2.0"]),
        "auth_signature": st.text(max_size=70),
        "body_md5": st.text(max_size=40),
    },
)
extra = st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=6)


def _verdict(params: list[tuple[str, str]], body: bytes) -> int:
    """200 when accepted, else the ApiError's status; any other exception fails the test."""
    try:
        verify_signed_request(
            app=APP, method="POST", paths=[PATH], params=params, body=body, now=NOW
        )
    except ApiError as error:
        assert error.status in (400, 401, 413), error.status
        assert APP.secret.reveal() not in error.message
        assert len(error.message) < 2000
        return error.status
    return 200


@FAST
@given(query=st.binary(max_size=300), body=st.binary(max_size=100))
@example(query=b"auth_timestamp=" + b"9" * 5000, body=b"")
@example(query=b"auth_key=278d425bdf160c739803&auth_timestamp=%FF%FE&auth_version=1.0", body=b"")
def test_any_raw_query_and_body_get_a_verdict(query: bytes, body: bytes) -> None:
    params = query_params(query)
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in params)
    assert _verdict(params, body) in (200, 401)


@FAST
@given(parts=auth_parts, extra=extra, body=st.binary(max_size=60))
@example(
    parts={
        "auth_key": APP.key,
        "auth_timestamp": "9" * 5000,
        "auth_version": "1.0",
        "auth_signature": "x",
    },
    extra=[],
    body=b"",
)
@example(
    parts={
        "auth_key": APP.key,
        "auth_timestamp": str(10**20),
        "auth_version": "1.0",
        "auth_signature": "x",
    },
    extra=[],
    body=b"",
)
def test_any_mix_of_auth_parameters_gets_a_verdict(
    parts: dict[str, str], extra: list[tuple[str, str]], body: bytes
) -> None:
    params = [*parts.items(), *extra]
    status = _verdict(params, body)
    # Without a valid signature nothing can be accepted.
    assert status == 401
    try:
        check_query(app=APP, params=params, now=NOW)
    except ApiError as error:
        assert error.status == 401


@FAST
@given(extra=extra, body=st.binary(max_size=200), flip=st.integers(min_value=0, max_value=63))
def test_a_correctly_signed_request_passes_and_any_changed_signature_fails(
    extra: list[tuple[str, str]], body: bytes, flip: int
) -> None:
    """Signed as the SDKs sign, sent through a real query string, parsed back: accepted."""
    params = [
        ("auth_key", APP.key),
        ("auth_timestamp", str(int(NOW))),
        ("auth_version", "1.0"),
        *[(f"x_{name}", value) for name, value in extra],
    ]
    if body:
        params.append(("body_md5", hashlib.md5(body, usedforsecurity=False).hexdigest()))
    signature = sign(APP.secret.reveal(), http_string_to_sign("POST", PATH, params))
    query = urlencode([*params, ("auth_signature", signature)]).encode()
    parsed = query_params(query)
    if parsed[: len(params)] != params:
        return  # a name or value that no query string can carry (e.g. '&' in a bracket name)
    assert _verdict(parsed, body) == 200
    changed = signature[:flip] + ("0" if signature[flip] != "0" else "1") + signature[flip + 1 :]
    tampered = [*params, ("auth_signature", changed)]
    assert _verdict(tampered, body) == 401
