from __future__ import annotations

import orjson
import pytest

from auth.errors import (
    AuthError,
    Forbidden,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    Unavailable,
    Unprocessable,
)


@pytest.mark.parametrize(
    ("error_type", "status"),
    [
        (Unauthenticated, 401),
        (Forbidden, 403),
        (PayloadTooLarge, 413),
        (Unprocessable, 422),
        (Unavailable, 503),
    ],
)
def test_each_refusal_renders_its_status_and_a_json_reason(
    error_type: type[AuthError], status: int
) -> None:
    error = error_type("some_reason", "what went wrong")
    assert error.status == status
    assert orjson.loads(error.to_body()) == {"error": "what went wrong", "reason": "some_reason"}
    assert error.headers() == {}


def test_rate_limited_says_when_to_retry_in_whole_seconds() -> None:
    error = RateLimited("too_many_failures", "slow down", retry_after_s=2.2)
    assert error.status == 429
    assert error.headers() == {"Retry-After": "3"}
    assert RateLimited("r", "m", retry_after_s=0.01).headers() == {"Retry-After": "1"}
