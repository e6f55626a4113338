"""Verifying signed HTTP API requests exactly as Pusher does (reference §5.5).

Every failure is an :class:`ApiError` whose message says what was wrong, in Pusher's words for
the 401s; no message ever contains the secret or the expected signature.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from pusherd.config import AppConfig
from pusherd.protocol.errors import ApiError
from pusherd.protocol.signatures import EMPTY_BODY_MD5, body_md5, http_string_to_sign, sign

__all__ = ["TIMESTAMP_WINDOW_S", "check_query", "query_params", "verify_signed_request"]

#: Pusher accepts requests whose ``auth_timestamp`` is within 600 s of its clock.
TIMESTAMP_WINDOW_S = 600


#: Digits of a timestamp before year 5138 (10**11 s); a longer value is refused before
#: ``int()`` (which refuses 4,300+ digits) or ``datetime`` (which overflows) sees it.
_MAX_TIMESTAMP_DIGITS = 11


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_params(query_string: bytes) -> list[tuple[str, str]]:
    """The query's pairs in order, blanks kept, as the signature covers them (§5.5).

    Latin-1 maps every byte to a character, so no query string can fail to decode; percent
    escapes that are not UTF-8 become U+FFFD and simply fail the signature.
    """
    return parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)


def _query_values(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params:
        values.setdefault(name.lower(), value)
    return values


def check_query(*, app: AppConfig, params: Sequence[tuple[str, str]], now: float) -> None:
    """The checks that need only the query string: required parameters, key, version and the
    timestamp window. They run before a byte of the body is read, so an unsigned or stale
    request costs the server nothing (issue 10, item 3).

    Raises:
        ApiError: 401 with the reason, in Pusher's words.
    """
    values = _query_values(params)
    for required in ("auth_key", "auth_timestamp", "auth_version", "auth_signature"):
        if required not in values:
            raise ApiError(401, f"Missing query parameter {required}")
    if not hmac.compare_digest(values["auth_key"].encode(), app.key.encode()):
        raise ApiError(401, "Invalid auth_key: no app with that key has this id")
    if values["auth_version"] != "1.0":
        raise ApiError(401, "Unsupported auth_version, expected 1.0")
    timestamp_text = values["auth_timestamp"]
    if not (timestamp_text.isascii() and timestamp_text.isdigit()):
        raise ApiError(401, "auth_timestamp must be an integer number of seconds")
    timestamp_text = timestamp_text.lstrip("0") or "0"
    if len(timestamp_text) > _MAX_TIMESTAMP_DIGITS:
        # Far outside any window: Pusher's own answer, without echoing a huge number.
        raise ApiError(
            401,
            f"Timestamp expired: Given timestamp not within {TIMESTAMP_WINDOW_S}s "
            f"of server time ({_iso(now)})",
        )
    timestamp = int(timestamp_text)
    if abs(now - timestamp) > TIMESTAMP_WINDOW_S:
        raise ApiError(
            401,
            f"Timestamp expired: Given timestamp ({_iso(timestamp)}) not within "
            f"{TIMESTAMP_WINDOW_S}s of server time ({_iso(now)})",
        )


def verify_signed_request(
    *,
    app: AppConfig,
    method: str,
    paths: Sequence[str],
    params: Sequence[tuple[str, str]],
    body: bytes,
    now: float,
) -> None:
    """Check key, version, timestamp window, ``body_md5`` and ``auth_signature``.

    ``paths`` holds the request path as sent and, if different, percent-decoded: a signature
    over either is accepted, since SDKs differ in whether they escape channel names.

    Raises:
        ApiError: 401 with the reason.
    """
    check_query(app=app, params=params, now=now)
    values = _query_values(params)
    given_md5 = values.get("body_md5")
    if body:
        if given_md5 is None:
            raise ApiError(401, "Missing query parameter body_md5 for a request with a body")
        if not hmac.compare_digest(given_md5.encode(), body_md5(body).encode()):
            raise ApiError(401, "body_md5 does not match the MD5 of the request body")
    elif given_md5 is not None and given_md5 != EMPTY_BODY_MD5:
        raise ApiError(401, "body_md5 does not match the MD5 of the empty body")
    signature = values["auth_signature"].encode()
    for path in paths:
        expected = sign(app.secret.reveal(), http_string_to_sign(method, path, params))
        if hmac.compare_digest(signature, expected.encode()):
            return
    string_to_sign = http_string_to_sign(method, paths[0], params).replace("\n", "\\n")
    raise ApiError(
        401,
        f'Invalid signature: you should have sent HmacSHA256Hex("{string_to_sign}", '
        "your_secret_key)",
    )
