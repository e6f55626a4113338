"""Settings: built once from a mapping (environment, CLI, TOML file) and frozen (house rule 15).

Nothing below ``__main__`` reads ``os.environ``. A bad value fails at start with a message that
names the field and the value; secrets are wrapped in :class:`Secret` and never printed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pusherd.protocol.channels import DEFAULT_MAX_CHANNEL_NAME_LENGTH, classify_channel
from pusherd.protocol.limits import Limits
from pusherd.protocol.secret import Secret

__all__ = [
    "WEBHOOK_EVENT_TYPES",
    "DEMO_APP_ID",
    "DEMO_APP_KEY",
    "DEMO_APP_SECRET",
    "AppConfig",
    "ConfigError",
    "FrontDoorLimits",
    "Secret",
    "Settings",
    "WebhookTarget",
    "load_apps_file",
    "load_settings",
]

DEMO_APP_ID = "1"
DEMO_APP_KEY = "pusherd-key"
DEMO_APP_SECRET = "pusherd-secret"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the field and the value."""


_LIMIT_FIELDS = tuple(limit.name for limit in fields(Limits))

#: The webhook event names of reference §10.3.
WEBHOOK_EVENT_TYPES = (
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "client_event",
    "cache_miss",
    "subscription_count",
)


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """One webhook URL of an app, optionally limited to some event types and a channel prefix."""

    url: str
    event_types: tuple[str, ...] = ()
    channel_prefix: str = ""

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook url must start with http:// or https://, got {self.url!r}")
        for name in self.event_types:
            if name not in WEBHOOK_EVENT_TYPES:
                raise ConfigError(f"webhook event_types: unknown event type {name!r}")

    def wants(self, event_name: str, channel: str) -> bool:
        """Whether this target takes an event of that name on that channel."""
        if self.event_types and event_name not in self.event_types:
            return False
        return channel.startswith(self.channel_prefix)


@dataclass(frozen=True, slots=True)
class AppConfig:
    """One Pusher app and its limits (Pusher defaults, reference §9.8)."""

    app_id: str
    key: str
    secret: Secret
    enabled: bool = True
    max_connections: int | None = None
    client_events_enabled: bool = True
    client_event_rate_per_s: int = 10
    max_message_size_bytes: int = 10_240
    activity_timeout_s: int = 120
    max_presence_members: int = 100
    max_presence_user_info_bytes: int = 1_024
    max_presence_user_id_length: int = 128
    max_channel_name_length: int = DEFAULT_MAX_CHANNEL_NAME_LENGTH
    max_event_name_length: int = 200
    max_channels_per_trigger: int = 100
    max_batch_size: int = 10
    max_channels_per_connection: int = 1_000
    allowed_origins: tuple[str, ...] = ()
    subscription_count_enabled: bool = False
    cache_ttl_s: int = 1_800
    max_cache_event_bytes: int = 10_240
    user_authentication_timeout_s: int | None = None
    watchlist_enabled: bool = True
    webhooks: tuple[WebhookTarget, ...] = ()
    webhook_batching: bool = False
    #: permessage-deflate (RFC 7692) for clients that offer it; shorter frames go uncompressed.
    compression_enabled: bool = True
    compression_min_bytes: int = 256

    def __post_init__(self) -> None:
        # ASCII only: str.isdigit() also accepts '²' and '١', which the SDKs refuse.
        if not (self.app_id.isascii() and self.app_id.isdigit()):
            raise ConfigError(
                f"app id must be digits (the Pusher SDKs require it), got {self.app_id!r}"
            )
        if not self.key or ":" in self.key:
            raise ConfigError(f"app key must be non-empty and contain no ':', got {self.key!r}")
        if not self.secret.reveal():
            raise ConfigError(f"app {self.app_id}: secret must not be empty")
        for name in (
            "client_event_rate_per_s",
            "max_message_size_bytes",
            "activity_timeout_s",
            "max_presence_members",
            "max_presence_user_info_bytes",
            "max_presence_user_id_length",
            "max_event_name_length",
            "max_channels_per_trigger",
            "max_batch_size",
            "max_channels_per_connection",
            "cache_ttl_s",
            "max_cache_event_bytes",
        ):
            value = getattr(self, name)
            if value <= 0:
                raise ConfigError(f"app {self.app_id}: {name} must be positive, got {value!r}")
        if self.max_connections is not None and self.max_connections < 0:
            raise ConfigError(
                f"app {self.app_id}: max_connections must be >= 0, got {self.max_connections!r}"
            )
        if not 1 <= self.max_channel_name_length <= 200:
            raise ConfigError(
                f"app {self.app_id}: max_channel_name_length must be 1..200, "
                f"got {self.max_channel_name_length!r}"
            )

    @property
    def limits(self) -> Limits:
        """The part of this app the sans-I/O session enforces."""
        # Same names on both sides, so Limits can never miss a field the app configures.
        return Limits(**{name: getattr(self, name) for name in _LIMIT_FIELDS})

    def max_data_bytes(self, channel_name: str) -> int:
        """The event data limit on that channel: the app's, or the cache's on cache channels."""
        channel_type = classify_channel(channel_name, self.max_channel_name_length)
        if channel_type is not None and channel_type.is_cache:
            return min(self.max_message_size_bytes, self.max_cache_event_bytes)
        return self.max_message_size_bytes

    def is_origin_allowed(self, origin: str | None) -> bool:
        """No list (or ``*``) allows every origin; otherwise the Origin header must be listed."""
        if not self.allowed_origins or "*" in self.allowed_origins:
            return True
        return origin is not None and origin in self.allowed_origins


@dataclass(frozen=True, slots=True)
class FrontDoorLimits:
    """What a connection may cost before its request head is complete (issue 10, item 5)."""

    #: From the first byte of a request (or the accept) to the end of its head: 408 after.
    header_timeout_s: float = 10.0
    #: From the end of a head to the end of its body; the connection is closed after.
    body_timeout_s: float = 30.0
    max_url_bytes: int = 8_192
    #: Bytes of an unfinished head (request line and headers); 431 past it.
    max_head_bytes: int = 65_536
    max_headers: int = 100
    #: Connections per client address still sending their first head; 0 is no cap.
    max_handshakes_per_address: int = 32
    #: How long a connection past that cap has to finish its head before it is dropped.
    over_cap_grace_s: float = 0.5


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    apps: tuple[AppConfig, ...] = ()
    path_prefix: str = ""
    pong_timeout_s: float = 30.0
    keepalive_sweep_s: float = 1.0
    max_pending_bytes: int = 4 * 1024 * 1024
    max_ws_frame_bytes: int = 256 * 1024
    shutdown_grace_s: float = 5.0
    run_poller: bool = True
    #: Where channel state lives: "memory" (one process) or "redis" (many nodes).
    adapter: str = "memory"
    #: Redis for the event feed and the redis adapter; None runs on memory alone.
    redis_url: Secret | None = None
    redis_prefix: str = "pusherd:"
    #: Prefix of Laravel's redis broadcaster channels (§14.8); None ignores them.
    laravel_redis_prefix: str | None = "laravel_database_"
    is_demo_app: bool = False
    log_level: str = "info"
    front_door: FrontDoorLimits = FrontDoorLimits()
    #: Bearer token for GET /metrics; without one, /metrics answers loopback clients only.
    metrics_token: Secret | None = None
    #: Running in production (pusherd/runtime_settings.py loads these): SIGTERM hand-over,
    #: worker processes, TLS files, log format.
    handover_window_s: float = 5.0
    presence_grace_s: float = 3.0
    workers: int = 1
    tls_cert: str | None = None
    tls_key: str | None = None
    log_format: str = "text"
    extra: Mapping[str, str] = field(default_factory=dict)


_APP_FIELDS = {f.name: f for f in fields(AppConfig)}


def _cast(app_label: str, name: str, value: Any, annotation: str) -> Any:
    """Cast a TOML/env value to the field's declared type, naming field and value on failure."""
    try:
        if annotation == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if annotation in ("int", "int | None"):
            if value is None or (annotation == "int | None" and str(value).strip() == ""):
                return None
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, int):
                return value
            return int(str(value).strip())
        if annotation == "str":
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise ValueError
            return str(value)
        if annotation == "tuple[str, ...]":
            if isinstance(value, str):
                return tuple(part.strip() for part in value.split(",") if part.strip())
            if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
                return tuple(value)
            raise ValueError
    except ValueError:
        shown = "<hidden>" if name == "secret" else repr(value)
        raise ConfigError(f"{app_label}: field '{name}' has an invalid value {shown}") from None
    raise ConfigError(f"{app_label}: field '{name}' has an unsupported type")


def _app_from_mapping(raw: Mapping[str, Any], label: str) -> AppConfig:
    unknown = sorted(set(raw) - set(_APP_FIELDS) - {"id", "secret"})
    if unknown:
        raise ConfigError(f"{label}: unknown field '{unknown[0]}'")
    values: dict[str, Any] = {}
    app_id = raw.get("id", raw.get("app_id"))
    if app_id is None:
        raise ConfigError(f"{label}: field 'id' is required")
    values["app_id"] = _cast(label, "id", app_id, "str")
    for required in ("key", "secret"):
        if required not in raw:
            raise ConfigError(f"{label}: field '{required}' is required")
    values["key"] = _cast(label, "key", raw["key"], "str")
    values["secret"] = Secret(_cast(label, "secret", raw["secret"], "str"))
    for name, value in raw.items():
        if name in ("id", "app_id", "key", "secret"):
            continue
        if name == "webhooks":
            values[name] = _webhooks(label, value)
            continue
        values[name] = _cast(label, name, value, str(_APP_FIELDS[name].type))
    try:
        return AppConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None


def _webhooks(label: str, raw: Any) -> tuple[WebhookTarget, ...]:
    """``[[apps.webhooks]]`` tables: ``url``, optional ``event_types`` and ``channel_prefix``."""
    if not isinstance(raw, list):
        raise ConfigError(f"{label}: field 'webhooks' must be a list of tables")
    targets = []
    for index, item in enumerate(raw):
        where = f"{label}.webhooks[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ConfigError(f"{where}: needs a string 'url'")
        unknown = sorted(set(item) - {"url", "event_types", "channel_prefix"})
        if unknown:
            raise ConfigError(f"{where}: unknown field '{unknown[0]}'")
        event_types = _cast(where, "event_types", item.get("event_types", []), "tuple[str, ...]")
        prefix = _cast(where, "channel_prefix", item.get("channel_prefix", ""), "str")
        try:
            targets.append(WebhookTarget(item["url"], event_types, prefix))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return tuple(targets)


def load_apps_file(path: Path) -> tuple[AppConfig, ...]:
    """Apps from a TOML file with ``[[apps]]`` tables; fails at start on any bad field."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"apps file {str(path)!r} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"apps file {str(path)!r} is not valid TOML: {exc}") from None
    raw_apps = document.get("apps")
    if not isinstance(raw_apps, list) or not raw_apps:
        raise ConfigError(f"apps file {str(path)!r}: needs at least one [[apps]] table")
    apps = []
    for index, raw in enumerate(raw_apps):
        if not isinstance(raw, dict):
            raise ConfigError(f"apps file {str(path)!r}: apps[{index}] is not a table")
        apps.append(_app_from_mapping(raw, f"apps[{index}]"))
    _check_unique(apps)
    return tuple(apps)


def _check_unique(apps: Sequence[AppConfig]) -> None:
    for attribute in ("app_id", "key"):
        seen: set[str] = set()
        for app in apps:
            value = getattr(app, attribute)
            if value in seen:
                raise ConfigError(
                    f"two apps share the same {attribute.replace('_', ' ')} {value!r}"
                )
            seen.add(value)


def _first(environ: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = environ.get(name)
        if value is not None and value != "":
            return value
    return None


_ENV_APP_OVERRIDES = {
    "PUSHERD_APP_MAX_CONNECTIONS": "max_connections",
    "PUSHERD_APP_CLIENT_EVENTS": "client_events_enabled",
    "PUSHERD_APP_ACTIVITY_TIMEOUT": "activity_timeout_s",
    "PUSHERD_APP_ALLOWED_ORIGINS": "allowed_origins",
    "PUSHERD_APP_MAX_MESSAGE_SIZE": "max_message_size_bytes",
}


def _default_app(environ: Mapping[str, str]) -> tuple[AppConfig, bool]:
    """The single app of a Laravel-style environment, or the demo app when none is given."""
    app_id = _first(environ, "PUSHERD_APP_ID", "REVERB_APP_ID", "PUSHER_APP_ID")
    key = _first(environ, "PUSHERD_APP_KEY", "REVERB_APP_KEY", "PUSHER_APP_KEY")
    secret = _first(environ, "PUSHERD_APP_SECRET", "REVERB_APP_SECRET", "PUSHER_APP_SECRET")
    is_demo = app_id is None and key is None and secret is None
    if not is_demo and secret is None:
        # Falling back to the published demo secret would let anyone sign for this app.
        raise ConfigError(
            "PUSHERD_APP_SECRET (or REVERB_APP_SECRET, PUSHER_APP_SECRET) is required "
            "when an app id or key is set"
        )
    raw: dict[str, Any] = {
        "id": app_id or DEMO_APP_ID,
        "key": key or DEMO_APP_KEY,
        "secret": secret or DEMO_APP_SECRET,
    }
    for variable, name in _ENV_APP_OVERRIDES.items():
        if variable in environ:
            # Cast here so that an error names the variable the user actually set.
            raw[name] = _cast(variable, name, environ[variable], str(_APP_FIELDS[name].type))
    return _app_from_mapping(raw, "environment app"), is_demo


def _port(value: str, source: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{source} must be a port number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{source} must be 0..65535, got {value!r}")
    return port


def _front_door(environ: Mapping[str, str]) -> FrontDoorLimits:
    """``PUSHERD_<FIELD>`` for each field, e.g. ``PUSHERD_HEADER_TIMEOUT_S=5``."""
    values: dict[str, float] = {}
    for limit in fields(FrontDoorLimits):
        variable = f"PUSHERD_{limit.name.upper()}"
        text = environ.get(variable, "").strip()
        if not text:
            continue
        try:
            value = float(text) if limit.type == "float" else int(text)
        except ValueError:
            raise ConfigError(f"{variable} must be a number, got {text!r}") from None
        if value < 0 or (value == 0 and limit.type == "float"):
            raise ConfigError(f"{variable} must be positive, got {text!r}")
        values[limit.name] = value
    return FrontDoorLimits(**values)  # type: ignore[arg-type]


def load_settings(
    environ: Mapping[str, str],
    *,
    host: str | None = None,
    port: int | None = None,
    apps_file: str | None = None,
    run_poller: bool | None = None,
    metrics_token: str | None = None,
) -> Settings:
    """Settings from the environment, with explicit (CLI) values taking precedence.

    Host and port: ``PUSHERD_HOST``/``PUSHERD_PORT``, then Reverb's server and client variables
    (``REVERB_SERVER_HOST``/``_PORT``, ``REVERB_HOST``/``_PORT``), default ``127.0.0.1:8080``.
    Apps: a TOML file (``PUSHERD_APPS_FILE`` or ``--apps-file``), else one app from
    ``PUSHERD_APP_*``, ``REVERB_APP_*`` or ``PUSHER_APP_*``, else the demo app.
    """
    chosen_host = (
        host or _first(environ, "PUSHERD_HOST", "REVERB_SERVER_HOST", "REVERB_HOST") or "127.0.0.1"
    )
    if port is None:
        port_text = _first(environ, "PUSHERD_PORT", "REVERB_SERVER_PORT", "REVERB_PORT")
        chosen_port = _port(port_text, "port") if port_text is not None else 8080
    else:
        chosen_port = _port(str(port), "--port")
    file_name = apps_file or _first(environ, "PUSHERD_APPS_FILE")
    is_demo = False
    if file_name:
        apps = load_apps_file(Path(file_name))
    else:
        app, is_demo = _default_app(environ)
        apps = (app,)
    settings = Settings(host=chosen_host, port=chosen_port, apps=apps, is_demo_app=is_demo)
    prefix = environ.get("PUSHERD_PATH_PREFIX", "").rstrip("/")
    if prefix and not prefix.startswith("/"):
        raise ConfigError(f"PUSHERD_PATH_PREFIX must start with '/', got {prefix!r}")
    settings = replace(settings, path_prefix=prefix)
    redis_url = _first(environ, "PUSHERD_REDIS_URL", "REDIS_URL")
    if redis_url is not None:
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("PUSHERD_REDIS_URL must start with redis://, rediss:// or unix://")
        settings = replace(settings, redis_url=Secret(redis_url))
    adapter = environ.get("PUSHERD_ADAPTER", "memory")
    if adapter not in ("memory", "redis"):
        raise ConfigError(f"PUSHERD_ADAPTER must be 'memory' or 'redis', got {adapter!r}")
    if adapter == "redis" and settings.redis_url is None:
        raise ConfigError("PUSHERD_ADAPTER=redis needs PUSHERD_REDIS_URL")
    settings = replace(settings, adapter=adapter)
    if "PUSHERD_REDIS_PREFIX" in environ:
        settings = replace(settings, redis_prefix=environ["PUSHERD_REDIS_PREFIX"])
    laravel_prefix = environ.get("PUSHERD_LARAVEL_REDIS_PREFIX", environ.get("REDIS_PREFIX"))
    if laravel_prefix is not None:
        is_off = laravel_prefix.lower() == "off"
        settings = replace(settings, laravel_redis_prefix=None if is_off else laravel_prefix)
    if run_poller is not None:
        settings = replace(settings, run_poller=run_poller)
    token = metrics_token or _first(environ, "PUSHERD_METRICS_TOKEN")
    return replace(
        settings,
        front_door=_front_door(environ),
        metrics_token=Secret(token) if token else None,
    )
