"""The settings of running pusherd in production: hand-over, workers, TLS, log format.

Kept out of :mod:`pusherd.config` (which loads apps and the server's limits) so that each stays
small; both return values of the one frozen :class:`~pusherd.config.Settings`. CLI values win
over ``PUSHERD_*`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from pusherd.config import ConfigError, Settings

__all__ = ["load_runtime_settings", "parse_workers"]


def parse_workers(text: str, cpu_count: Callable[[], int | None] = os.cpu_count) -> int:
    """``auto`` is one worker per CPU; otherwise a whole number from 1 to 256."""
    if text.strip().lower() == "auto":
        return max(1, cpu_count() or 1)
    try:
        workers = int(text)
    except ValueError:
        raise ConfigError(f"workers must be a number or 'auto', got {text!r}") from None
    if not 1 <= workers <= 256:
        raise ConfigError(f"workers must be 1..256, got {text!r}")
    return workers


def _seconds(text: str, name: str, *, allow_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if value < 0 or (value == 0 and not allow_zero) or value > 3600:
        raise ConfigError(f"{name} must be {'0' if allow_zero else '>0'}..3600, got {text!r}")
    return value


def load_runtime_settings(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    workers: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_format: str | None = None,
    handover_window_s: str | None = None,
) -> Settings:
    """``settings`` with the production options of the CLI or ``PUSHERD_*`` applied.

    Raises:
        ConfigError: a value that cannot be used, named with the option.
    """
    worker_text = workers or environ.get("PUSHERD_WORKERS") or "1"
    chosen_workers = parse_workers(worker_text)
    if chosen_workers > 1 and settings.adapter != "redis":
        raise ConfigError(
            f"--workers {worker_text} needs the Redis adapter, so that the workers share "
            "channels and presence: set PUSHERD_ADAPTER=redis and PUSHERD_REDIS_URL"
        )
    cert = tls_cert or environ.get("PUSHERD_TLS_CERT") or None
    key = tls_key or environ.get("PUSHERD_TLS_KEY") or None
    if (cert is None) != (key is None):
        raise ConfigError("TLS needs both --tls-cert and --tls-key (or PUSHERD_TLS_CERT/_KEY)")
    for label, path in (("--tls-cert", cert), ("--tls-key", key)):
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{label}: no such file {path!r}")
    chosen_format = (log_format or environ.get("PUSHERD_LOG_FORMAT") or "text").lower()
    if chosen_format not in ("text", "json"):
        raise ConfigError(f"log format must be 'json' or 'text', got {chosen_format!r}")
    window_text = handover_window_s or environ.get("PUSHERD_HANDOVER_WINDOW_S")
    window = settings.handover_window_s
    if window_text:
        window = _seconds(window_text, "hand-over window", allow_zero=True)
    grace = settings.presence_grace_s
    # The lifespan must outlive the last deferred presence leave (the grace after the spread's
    # end), plus a margin for the last closing handshakes and the flush.
    shutdown_grace = max(settings.shutdown_grace_s, grace + 3.0)
    return replace(
        settings,
        workers=chosen_workers,
        tls_cert=cert,
        tls_key=key,
        log_format=chosen_format,
        handover_window_s=window,
        shutdown_grace_s=shutdown_grace,
    )
