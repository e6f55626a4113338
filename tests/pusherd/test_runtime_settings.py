"""The production options: workers, TLS files, log format, hand-over window."""

from __future__ import annotations

from pathlib import Path

import pytest

from pusherd.config import ConfigError, Secret
from pusherd.handover import reconnect_schedule
from pusherd.runtime_settings import load_runtime_settings, parse_workers
from tests.servers import make_settings


def test_workers_auto_is_the_cpu_count_and_bad_values_are_named() -> None:
    assert parse_workers("auto", cpu_count=lambda: 6) == 6
    assert parse_workers("AUTO", cpu_count=lambda: None) == 1
    assert parse_workers("3") == 3
    for bad in ("0", "-1", "many", "257"):
        with pytest.raises(ConfigError, match="workers"):
            parse_workers(bad)


def test_more_than_one_worker_needs_redis() -> None:
    with pytest.raises(ConfigError, match="needs the Redis adapter"):
        load_runtime_settings(make_settings(), {}, workers="2")
    redis = make_settings(adapter="redis", redis_url=Secret("redis://127.0.0.1:6379/0"))
    assert load_runtime_settings(redis, {"PUSHERD_WORKERS": "2"}).workers == 2


def test_tls_needs_both_files_that_exist(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    with pytest.raises(ConfigError, match="both"):
        load_runtime_settings(make_settings(), {}, tls_cert=str(cert))
    with pytest.raises(ConfigError, match="no such file"):
        load_runtime_settings(make_settings(), {}, tls_cert=str(cert), tls_key=str(key))
    cert.write_text("x")
    key.write_text("y")
    env = {"PUSHERD_TLS_CERT": str(cert), "PUSHERD_TLS_KEY": str(key)}
    settings = load_runtime_settings(make_settings(), env)
    assert (settings.tls_cert, settings.tls_key) == (str(cert), str(key))


def test_log_format_and_window() -> None:
    settings = load_runtime_settings(
        make_settings(), {"PUSHERD_LOG_FORMAT": "JSON", "PUSHERD_HANDOVER_WINDOW_S": "12.5"}
    )
    assert settings.log_format == "json"
    assert settings.handover_window_s == 12.5
    # The lifespan outlives the presence grace after the spread.
    assert settings.shutdown_grace_s >= settings.presence_grace_s + 3.0
    with pytest.raises(ConfigError, match="log format"):
        load_runtime_settings(make_settings(), {}, log_format="xml")
    with pytest.raises(ConfigError, match="hand-over window"):
        load_runtime_settings(make_settings(), {}, handover_window_s="-1")


def test_reconnect_schedule_is_an_even_ramp() -> None:
    assert [reconnect_schedule(100, 10.0, t) for t in (0.0, 1.0, 5.0, 9.99, 10.0, 99)] == [
        0,
        10,
        50,
        100,
        100,
        100,
    ]
    assert reconnect_schedule(0, 10.0, 5.0) == 0
    assert reconnect_schedule(7, 0.0, 0.0) == 7  # no window: all at once
