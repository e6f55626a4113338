"""Configuration as data: :class:`AuthOptions` for the app and :class:`AuthSettings` from the env.

Only ``auth.__main__`` reads ``os.environ``; it hands the mapping to :func:`load_settings`, so
tests build settings from plain dicts. Cast errors name the variable and, unless it is a secret,
the value. Environment variables:

- ``DATABASE_URL``: ``sqlite:///pusherd-auth.sqlite3`` (default) or ``postgresql://…``
- ``REDIS_URL``: optional; revocations and socket grants reach every node
- ``AUTH_REDIS_PREFIX``: Redis key prefix, default ``pusherd:auth:``
- ``PUSHERD_APP_KEY``/``REVERB_APP_KEY``/``PUSHER_APP_KEY`` and the matching ``…_APP_SECRET``:
  the app credentials that sign, first one set wins, as in ``pusherd.config`` (required to serve)
- ``PUSHERD_ENCRYPTION_MASTER_KEY_BASE64`` or ``PUSHER_ENCRYPTION_MASTER_KEY_BASE64``: optional;
  enables ``private-encrypted-`` channels
- ``AUTH_POLICY_FILE``: optional TOML file of tiers and channel rules
- ``AUTH_KEY_HEADER``: default ``Authorization`` (``Bearer <key>``); another header holds the key
- ``AUTH_CORS_ORIGINS``: comma-separated origins allowed to call the endpoints
- ``AUTH_CACHE_TTL_S``: verification cache TTL, the revocation bound without Redis (30)
- ``AUTH_PEPPER`` / ``AUTH_PEPPER_FILE``: the server-side key of the stored key hashes; without
  either, a SQLite database gets ``<file>.pepper`` beside it (``auth.pepper`` says why and how)
- ``AUTH_PREVIOUS_PEPPERS``: comma-separated peppers that still verify (rotation)
- ``AUTH_REVOCATION_POLL_S``: without Redis, how often each node reads recent revocations
  from the database (5; 0 turns it off)
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from auth.cache import DEFAULT_CACHE_TTL_S
from auth.grants import DEFAULT_GRANT_TTL_S
from auth.pepper import Peppers, pepper_file_for, read_or_create_pepper
from auth.policy import Policy, default_policy, load_policy
from auth.ratelimit import FailureLimits
from auth.sql import DEFAULT_DATABASE_URL
from pusherd.protocol.secret import Secret

__all__ = [
    "DEFAULT_REDIS_PREFIX",
    "AuthOptions",
    "AuthSettings",
    "load_peppers",
    "load_settings",
    "read_policy",
]

DEFAULT_REDIS_PREFIX = "pusherd:auth:"


@dataclass(frozen=True, slots=True)
class AuthOptions:
    """Tunables of the auth app; every field has a working default."""

    key_header: str = "Authorization"
    cors_origins: tuple[str, ...] = ()
    cache_ttl_s: float = DEFAULT_CACHE_TTL_S
    address_limits: FailureLimits = field(
        default_factory=lambda: FailureLimits(max_failures=20, window_s=60.0)
    )
    key_limits: FailureLimits = field(
        default_factory=lambda: FailureLimits(max_failures=10, window_s=60.0)
    )
    redis_prefix: str = DEFAULT_REDIS_PREFIX
    grant_ttl_s: float = DEFAULT_GRANT_TTL_S
    max_body_bytes: int = 8192
    #: Without Redis: how often to ask the database for revocations (0: never).
    revocation_poll_s: float = 5.0


@dataclass(frozen=True, slots=True)
class AuthSettings:
    database_url: str
    redis_url: str | None
    app_key: str | None
    app_secret: Secret | None
    encryption_master_key_base64: Secret | None
    policy_file: str | None
    options: AuthOptions
    pepper: Secret | None = None
    pepper_file: str | None = None
    previous_peppers: tuple[Secret, ...] = ()


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _first(environ: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = _optional(environ, name)
        if value is not None:
            return value
    return None


def load_settings(environ: Mapping[str, str]) -> AuthSettings:
    """Settings from an environment mapping (see the table above).

    Raises:
        ValueError: naming the variable that could not be read.
    """
    secret = _first(environ, "PUSHERD_APP_SECRET", "REVERB_APP_SECRET", "PUSHER_APP_SECRET")
    master = _first(
        environ, "PUSHERD_ENCRYPTION_MASTER_KEY_BASE64", "PUSHER_ENCRYPTION_MASTER_KEY_BASE64"
    )
    pepper = _optional(environ, "AUTH_PEPPER")
    origins = tuple(o.strip() for o in environ.get("AUTH_CORS_ORIGINS", "").split(",") if o.strip())
    options = AuthOptions(
        key_header=_optional(environ, "AUTH_KEY_HEADER") or "Authorization",
        cors_origins=origins,
        cache_ttl_s=_float(environ, "AUTH_CACHE_TTL_S", DEFAULT_CACHE_TTL_S),
        redis_prefix=environ.get("AUTH_REDIS_PREFIX", DEFAULT_REDIS_PREFIX),
        revocation_poll_s=_float(environ, "AUTH_REVOCATION_POLL_S", 5.0),
    )
    return AuthSettings(
        database_url=_optional(environ, "DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=_optional(environ, "REDIS_URL"),
        app_key=_first(environ, "PUSHERD_APP_KEY", "REVERB_APP_KEY", "PUSHER_APP_KEY"),
        app_secret=None if secret is None else Secret(secret),
        encryption_master_key_base64=None if master is None else Secret(master),
        policy_file=_optional(environ, "AUTH_POLICY_FILE"),
        options=options,
        pepper=None if pepper is None else Secret(pepper),
        pepper_file=_optional(environ, "AUTH_PEPPER_FILE"),
        previous_peppers=tuple(
            Secret(text.strip())
            for text in environ.get("AUTH_PREVIOUS_PEPPERS", "").split(",")
            if text.strip()
        ),
    )


def load_peppers(settings: AuthSettings, *, rng: random.Random) -> Peppers:
    """The configured peppers (``auth.pepper`` lists where they come from, in order).

    Raises:
        ValueError: no pepper for a database other than a SQLite file, or one too short
            (the message names the variable, never the value).
    """
    if settings.pepper is not None:
        current, source = settings.pepper.reveal(), "AUTH_PEPPER"
    else:
        path = (
            Path(settings.pepper_file)
            if settings.pepper_file is not None
            else pepper_file_for(settings.database_url)
        )
        if path is None:
            raise ValueError("set AUTH_PEPPER or AUTH_PEPPER_FILE (the key of stored key hashes)")
        try:
            current = read_or_create_pepper(path, rng=rng)
        except OSError as exc:
            raise ValueError(f"pepper file {str(path)!r}: {exc.strerror}") from None
        source = "the pepper file"
    try:
        peppers = Peppers.from_texts(current)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    try:
        previous = tuple(Peppers.from_texts(p.reveal()).current for p in settings.previous_peppers)
    except ValueError as exc:
        raise ValueError(f"AUTH_PREVIOUS_PEPPERS: {exc}") from None
    return Peppers(current=peppers.current, previous=previous)


def read_policy(path: str | None) -> Policy:
    """The policy in the TOML file at ``path``, or the defaults when there is none.

    Raises:
        ValueError: the file is not valid TOML or not a valid policy (the message says where).
    """
    if path is None:
        return default_policy()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"AUTH_POLICY_FILE {path!r}: {exc}") from exc
    try:
        return load_policy(data)
    except ValueError as exc:
        raise ValueError(f"AUTH_POLICY_FILE {path!r}: {exc}") from exc
