from __future__ import annotations

from pusherd.protocol.secret import Secret


def test_secret_never_prints_its_value() -> None:
    secret = Secret("pk_hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret!r} {secret}"
    assert "hunter2" not in repr((secret, [secret]))


def test_secret_reveals_on_request_and_is_falsy_when_empty() -> None:
    assert Secret("x").reveal() == "x"
    assert Secret("x")
    assert not Secret("")
