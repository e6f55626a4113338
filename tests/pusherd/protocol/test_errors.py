"""Errors render their own wire form (reference §2.2, §2.6, §3, §9.1; house rule 3)."""

from __future__ import annotations

import orjson
import pytest

from pusherd.protocol.errors import (
    ApiError,
    ClientError,
    CloseCode,
    ConnectionRefused,
    PusherError,
    SubscriptionRefused,
)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("TLS_ONLY", 4000),
        ("APP_NOT_FOUND", 4001),
        ("APP_DISABLED", 4003),
        ("OVER_QUOTA", 4004),
        ("PATH_NOT_FOUND", 4005),
        ("INVALID_VERSION", 4006),
        ("UNSUPPORTED_VERSION", 4007),
        ("NO_VERSION", 4008),
        ("UNAUTHORIZED", 4009),
        ("OVER_CAPACITY", 4100),
        ("RECONNECT", 4200),
        ("PONG_NOT_RECEIVED", 4201),
        ("CLIENT_EVENT_RATE_LIMIT", 4301),
        ("WATCHLIST_LIMIT", 4302),
    ],
)
def test_close_codes_of_section_3_1(name: str, code: int) -> None:
    assert getattr(CloseCode, name) == code


def test_connection_refused_is_pusher_error_with_same_code() -> None:
    """§1.2, checklist 48: the frame carries the code the socket is closed with."""
    error = ConnectionRefused(CloseCode.APP_NOT_FOUND, "Application does not exist")
    assert isinstance(error, PusherError)
    assert error.to_frame() == (
        b'{"event":"pusher:error","data":{"code":4001,"message":"Application does not exist"}}'
    )


@pytest.mark.parametrize(
    ("code", "message", "frame"),
    [
        (
            None,
            "Invalid message format",
            b'{"event":"pusher:error","data":{"code":null,"message":"Invalid message format"}}',
        ),
        (
            4301,
            "Client event rejected due to rate limit",
            b'{"event":"pusher:error","data":{"code":4301,'
            b'"message":"Client event rejected due to rate limit"}}',
        ),
    ],
)
def test_client_error_frame_has_object_data_with_code_and_message(
    code: int | None, message: str, frame: bytes
) -> None:
    """§2.2, checklist 50: object ``data``, ``code`` integer or null, no ``channel`` key."""
    error = ClientError(code, message)
    assert isinstance(error, PusherError)
    assert error.to_frame() == frame
    decoded = orjson.loads(error.to_frame())
    assert set(decoded) == {"event", "data"}
    assert isinstance(decoded["data"], dict)


def test_subscription_refused_frame() -> None:
    """§2.6: channel, type, error, status; soketi's shape that Echo's .error() receives."""
    error = SubscriptionRefused("private-x", "AuthError", "The connection is unauthorized.", 401)
    assert isinstance(error, PusherError)
    assert error.to_frame() == (
        b'{"event":"pusher:subscription_error","channel":"private-x",'
        b'"data":{"type":"AuthError","error":"The connection is unauthorized.","status":401}}'
    )


def test_error_messages_are_escaped_json() -> None:
    error = ClientError(None, 'quote " and \\ and \n')
    assert orjson.loads(error.to_frame())["data"]["message"] == 'quote " and \\ and \n'


def test_api_error_renders_json_body() -> None:
    """§9.1: pusherd answers ``{"error": "<message>"}`` with the status."""
    error = ApiError(413, "data is larger than 10240 bytes")
    assert error.status == 413
    assert error.to_body() == b'{"error":"data is larger than 10240 bytes"}'
    assert not isinstance(error, PusherError)


def test_base_pusher_error_has_no_wire_form() -> None:
    with pytest.raises(NotImplementedError):
        PusherError().to_frame()
