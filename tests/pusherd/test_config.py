"""Settings from a mapping and a TOML apps file (house rule 15): names, casts, errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from pusherd.config import (
    DEMO_APP_ID,
    DEMO_APP_KEY,
    DEMO_APP_SECRET,
    AppConfig,
    ConfigError,
    FrontDoorLimits,
    Secret,
    WebhookTarget,
    load_apps_file,
    load_settings,
)
from pusherd.protocol.limits import Limits

SECRET = "s3cr3t-never-shown"

EVERY_FIELD_TOML = f"""
[[apps]]
id = "3"
key = "278d425bdf160c739803"
secret = "{SECRET}"
enabled = false
max_connections = 50
client_events_enabled = false
client_event_rate_per_s = 5
max_message_size_bytes = 20480
activity_timeout_s = 30
max_presence_members = 10
max_presence_user_info_bytes = 2048
max_presence_user_id_length = 64
max_channel_name_length = 200
max_event_name_length = 100
max_channels_per_trigger = 50
max_batch_size = 5
max_channels_per_connection = 20
allowed_origins = ["https://a.example", "https://b.example"]
subscription_count_enabled = true
cache_ttl_s = 60
max_cache_event_bytes = 4096
user_authentication_timeout_s = 30
watchlist_enabled = false
webhook_batching = true
compression_enabled = false
compression_min_bytes = 1024

[[apps.webhooks]]
url = "https://hooks.example/pusher"
event_types = ["channel_occupied", "member_added"]
channel_prefix = "presence-"

[[apps.webhooks]]
url = "http://127.0.0.1:9000/all"

[[apps]]
id = 4
key = "second-key"
secret = "second-secret"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "apps.toml"
    path.write_text(text, encoding="utf-8")
    return path


def app_toml(**fields: str) -> str:
    """One ``[[apps]]`` table; values are TOML source text."""
    values = {"id": '"1"', "key": '"k"', "secret": f'"{SECRET}"', **fields}
    return "[[apps]]\n" + "".join(f"{name} = {value}\n" for name, value in values.items())


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_apps_file(write(tmp_path, text))
    message = str(caught.value)
    assert SECRET not in message
    return message


# -- the apps file ---------------------------------------------------------------------------------


def test_apps_file_with_every_field(tmp_path: Path) -> None:
    first, second = load_apps_file(write(tmp_path, EVERY_FIELD_TOML))
    assert first == AppConfig(
        app_id="3",
        key="278d425bdf160c739803",
        secret=Secret(SECRET),
        enabled=False,
        max_connections=50,
        client_events_enabled=False,
        client_event_rate_per_s=5,
        max_message_size_bytes=20480,
        activity_timeout_s=30,
        max_presence_members=10,
        max_presence_user_info_bytes=2048,
        max_presence_user_id_length=64,
        max_channel_name_length=200,
        max_event_name_length=100,
        max_channels_per_trigger=50,
        max_batch_size=5,
        max_channels_per_connection=20,
        allowed_origins=("https://a.example", "https://b.example"),
        subscription_count_enabled=True,
        cache_ttl_s=60,
        max_cache_event_bytes=4096,
        user_authentication_timeout_s=30,
        watchlist_enabled=False,
        webhooks=(
            WebhookTarget(
                "https://hooks.example/pusher", ("channel_occupied", "member_added"), "presence-"
            ),
            WebhookTarget("http://127.0.0.1:9000/all"),
        ),
        webhook_batching=True,
        compression_enabled=False,
        compression_min_bytes=1024,
    )
    # An integer id is read as its decimal string; the rest default.
    assert second == AppConfig(app_id="4", key="second-key", secret=Secret("second-secret"))


def test_every_field_toml_covers_every_app_field() -> None:
    """Keeps the test above honest when AppConfig grows a field."""
    import tomllib

    table = tomllib.loads(EVERY_FIELD_TOML)["apps"][0]
    assert set(table) - {"id"} == {f.name for f in fields(AppConfig)} - {"app_id"}, (
        "add the new AppConfig field to EVERY_FIELD_TOML and to the expected AppConfig"
    )


def test_app_limits_are_handed_to_the_session(tmp_path: Path) -> None:
    (app, _) = load_apps_file(write(tmp_path, EVERY_FIELD_TOML))
    assert app.limits == Limits(
        client_events_enabled=False,
        client_event_rate_per_s=5,
        max_message_size_bytes=20480,
        max_presence_members=10,
        max_presence_user_info_bytes=2048,
        max_presence_user_id_length=64,
        max_channel_name_length=200,
        max_event_name_length=100,
        max_channels_per_trigger=50,
        max_batch_size=5,
        max_channels_per_connection=20,
    )


def test_app_defaults_are_pushers() -> None:
    app = AppConfig(app_id="1", key="k", secret=Secret("s"))
    assert app.limits == Limits()
    assert app.activity_timeout_s == 120  # §1.3
    assert app.enabled and app.client_events_enabled


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("max_connections", '"many"', "'many'"),
        ("client_event_rate_per_s", "1.5", "1.5"),
        ("max_presence_members", "true", "True"),
        ("enabled", '"maybe"', "'maybe'"),
        ("allowed_origins", "[1, 2]", "[1, 2]"),
        ("activity_timeout_s", "[120]", "[120]"),
    ],
)
def test_bad_values_name_field_and_value(
    tmp_path: Path, field: str, value: str, shown: str
) -> None:
    message = config_error(tmp_path, app_toml(**{field: value}))
    assert f"'{field}'" in message
    assert shown in message
    assert "apps[0]" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_event_rate_per_s", "0"),
        ("max_message_size_bytes", "-1"),
        ("activity_timeout_s", "0"),
        ("max_presence_members", "0"),
        ("max_channels_per_connection", "0"),
        ("max_connections", "-1"),
        ("max_channel_name_length", "201"),
        ("max_channel_name_length", "0"),
        ("cache_ttl_s", "0"),
    ],
)
def test_out_of_range_values_name_field_and_value(tmp_path: Path, field: str, value: str) -> None:
    message = config_error(tmp_path, app_toml(**{field: value}))
    assert field in message
    assert value in message


def test_channel_name_limit_is_configurable_up_to_200(tmp_path: Path) -> None:
    """§4.1, checklist 18: 164 by default, at most 200 like the Node and Python SDKs."""
    (app,) = load_apps_file(write(tmp_path, app_toml(max_channel_name_length="200")))
    assert app.limits.max_channel_name_length == 200


@pytest.mark.parametrize(
    "secret_toml",
    ['["a", "list"]', "{ nested = true }", "true", "1.5"],
)
def test_bad_secret_is_never_shown(tmp_path: Path, secret_toml: str) -> None:
    text = app_toml(secret=secret_toml).replace(f'secret = "{SECRET}"\n', "")
    message = config_error(tmp_path, text)
    assert "'secret'" in message
    assert "<hidden>" in message
    assert secret_toml not in message


@pytest.mark.parametrize(
    "bad_key",
    ['"k:x"', '""'],
)
def test_bad_key_never_shows_the_secret(tmp_path: Path, bad_key: str) -> None:
    message = config_error(tmp_path, app_toml(key=bad_key))
    assert "key" in message


def test_empty_secret_is_refused(tmp_path: Path) -> None:
    message = config_error(tmp_path, app_toml(secret='""'))
    assert "secret" in message


@pytest.mark.parametrize(
    "app_id",
    [
        pytest.param('"abc"', id="letters"),
        pytest.param('"-1"', id="negative"),
        pytest.param('"1.0"', id="decimal"),
        pytest.param('""', id="empty"),
        pytest.param('" 1"', id="space"),
        pytest.param('"\u00b2"', id="superscript-digit"),
        pytest.param('"\u0661\u0662"', id="arabic-indic-digits"),
    ],
)
def test_non_numeric_app_id_is_refused(tmp_path: Path, app_id: str) -> None:
    """§9.1: the Python SDK requires ``\\A[0-9]+\\Z``; the message names the id."""
    message = config_error(tmp_path, app_toml(id=app_id))
    assert "app id" in message
    assert repr(app_id.strip('"')) in message


def test_duplicate_app_ids_are_refused(tmp_path: Path) -> None:
    text = app_toml(id='"1"', key='"a"') + app_toml(id="1", key='"b"')
    message = config_error(tmp_path, text)
    assert "app id" in message and "'1'" in message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    text = app_toml(id='"1"', key='"same"') + app_toml(id='"2"', key='"same"')
    message = config_error(tmp_path, text)
    assert "key" in message and "'same'" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(app_toml(colour='"blue"'), "unknown field 'colour'", id="unknown-field"),
        pytest.param('[[apps]]\nkey = "k"\nsecret = "x"\n', "field 'id' is required", id="no-id"),
        pytest.param('[[apps]]\nid = "1"\nsecret = "x"\n', "field 'key'", id="no-key"),
        pytest.param('[[apps]]\nid = "1"\nkey = "k"\n', "field 'secret'", id="no-secret"),
        pytest.param("", "at least one [[apps]]", id="empty-file"),
        pytest.param("apps = 3\n", "at least one [[apps]]", id="apps-not-a-list"),
        pytest.param("apps = [1]\n", "apps[0] is not a table", id="app-not-a-table"),
        pytest.param("[[apps]\n", "not valid TOML", id="bad-toml"),
        pytest.param(
            app_toml(webhooks='"https://x"'), "'webhooks' must be a list", id="webhooks-not-list"
        ),
        pytest.param(app_toml(webhooks='[{ url = "ftp://x" }]'), "'ftp://x'", id="webhook-bad-url"),
        pytest.param(
            app_toml(webhooks='[{ url = "https://x", event_types = ["nope"] }]'),
            "'nope'",
            id="webhook-unknown-event-type",
        ),
        pytest.param(
            app_toml(webhooks='[{ url = "https://x", secret = "y" }]'),
            "unknown field 'secret'",
            id="webhook-unknown-field",
        ),
        pytest.param(app_toml(webhooks="[{}]"), "needs a string 'url'", id="webhook-no-url"),
    ],
)
def test_bad_files_fail_with_a_message(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in config_error(tmp_path, text)


def test_missing_file_fails_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_apps_file(tmp_path / "missing.toml")
    assert "missing.toml" in str(caught.value)


def test_secret_never_shows_itself() -> None:
    secret = Secret(SECRET)
    assert SECRET not in repr(secret)
    assert SECRET not in str(secret)
    assert SECRET not in f"{secret}"
    assert secret.reveal() == SECRET
    assert secret == Secret(SECRET) and secret != Secret("other")
    app = AppConfig(app_id="1", key="k", secret=secret)
    assert SECRET not in repr(app)


def test_webhook_target_filters_by_event_type_and_prefix() -> None:
    target = WebhookTarget("https://x", ("member_added",), "presence-")
    assert target.wants("member_added", "presence-a")
    assert not target.wants("member_added", "private-a")
    assert not target.wants("channel_occupied", "presence-a")
    assert WebhookTarget("https://x").wants("client_event", "anything")


def test_origins_allow_list() -> None:
    assert AppConfig(app_id="1", key="k", secret=Secret("s")).is_origin_allowed(None)
    listed = AppConfig(app_id="1", key="k", secret=Secret("s"), allowed_origins=("https://a",))
    assert listed.is_origin_allowed("https://a")
    assert not listed.is_origin_allowed("https://b")
    assert not listed.is_origin_allowed(None)
    star = AppConfig(app_id="1", key="k", secret=Secret("s"), allowed_origins=("*",))
    assert star.is_origin_allowed("https://b")


# -- the environment -------------------------------------------------------------------------------


def test_empty_environment_runs_the_demo_app_on_loopback() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.is_demo_app
    (app,) = settings.apps
    assert (app.app_id, app.key, app.secret) == (
        DEMO_APP_ID,
        DEMO_APP_KEY,
        Secret(DEMO_APP_SECRET),
    )


@pytest.mark.parametrize("prefix", ["PUSHERD_APP", "REVERB_APP", "PUSHER_APP"])
def test_app_from_environment(prefix: str) -> None:
    settings = load_settings(
        {f"{prefix}_ID": "42", f"{prefix}_KEY": "env-key", f"{prefix}_SECRET": SECRET}
    )
    assert not settings.is_demo_app
    (app,) = settings.apps
    assert (app.app_id, app.key, app.secret) == ("42", "env-key", Secret(SECRET))


def test_pusherd_names_win_over_reverb_over_pusher() -> None:
    environ = {
        "PUSHER_APP_ID": "1",
        "PUSHER_APP_KEY": "pusher-key",
        "PUSHER_APP_SECRET": "pusher-secret",
        "REVERB_APP_ID": "2",
        "REVERB_APP_KEY": "reverb-key",
        "REVERB_APP_SECRET": "reverb-secret",
    }
    (app,) = load_settings(environ).apps
    assert (app.app_id, app.key) == ("2", "reverb-key")
    environ |= {"PUSHERD_APP_ID": "3", "PUSHERD_APP_KEY": "pusherd-key"}
    (app,) = load_settings(environ).apps
    assert (app.app_id, app.key, app.secret) == ("3", "pusherd-key", Secret("reverb-secret"))


def test_empty_variables_are_unset() -> None:
    environ = {"PUSHERD_APP_ID": "", "REVERB_APP_ID": "5", "REVERB_APP_SECRET": SECRET}
    (app,) = load_settings(environ).apps
    assert app.app_id == "5"


def test_non_numeric_app_id_from_environment_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {"PUSHER_APP_ID": "my-app", "PUSHER_APP_KEY": "k", "PUSHER_APP_SECRET": SECRET}
        )
    assert "'my-app'" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "host", "port"),
    [
        ({"PUSHERD_HOST": "0.0.0.0", "PUSHERD_PORT": "6001"}, "0.0.0.0", 6001),
        ({"REVERB_HOST": "10.0.0.1", "REVERB_PORT": "8081"}, "10.0.0.1", 8081),
        ({"REVERB_SERVER_HOST": "10.0.0.2", "REVERB_SERVER_PORT": "8082"}, "10.0.0.2", 8082),
        (
            {"REVERB_SERVER_HOST": "10.0.0.2", "REVERB_HOST": "10.0.0.1", "PUSHERD_HOST": "::1"},
            "::1",
            8080,
        ),
        ({"REVERB_SERVER_HOST": "10.0.0.2", "REVERB_HOST": "10.0.0.1"}, "10.0.0.2", 8080),
        ({"PUSHERD_PORT": "0"}, "127.0.0.1", 0),
    ],
)
def test_host_and_port_from_environment(environ: dict[str, str], host: str, port: int) -> None:
    settings = load_settings(environ)
    assert (settings.host, settings.port) == (host, port)


def test_explicit_arguments_win_over_environment() -> None:
    settings = load_settings({"PUSHERD_HOST": "0.0.0.0", "PUSHERD_PORT": "1"}, host="::1", port=2)
    assert (settings.host, settings.port) == ("::1", 2)


@pytest.mark.parametrize("port", ["http", "65536", "-1", "8080.5"])
def test_bad_port_names_the_value(port: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PUSHERD_PORT": port})
    assert repr(port) in str(caught.value)


def test_app_overrides_from_environment() -> None:
    settings = load_settings(
        {
            "PUSHERD_APP_MAX_CONNECTIONS": "7",
            "PUSHERD_APP_CLIENT_EVENTS": "off",
            "PUSHERD_APP_ACTIVITY_TIMEOUT": "30",
            "PUSHERD_APP_ALLOWED_ORIGINS": "https://a, https://b",
            "PUSHERD_APP_MAX_MESSAGE_SIZE": "2048",
        }
    )
    (app,) = settings.apps
    assert app.max_connections == 7
    assert app.client_events_enabled is False
    assert app.activity_timeout_s == 30
    assert app.allowed_origins == ("https://a", "https://b")
    assert app.max_message_size_bytes == 2048


def test_bad_override_names_field_and_value() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PUSHERD_APP_CLIENT_EVENTS": "sometimes"})
    assert "client_events_enabled" in str(caught.value)
    assert "'sometimes'" in str(caught.value)


def test_apps_file_from_environment_or_argument(tmp_path: Path) -> None:
    path = write(tmp_path, EVERY_FIELD_TOML)
    from_env = load_settings({"PUSHERD_APPS_FILE": str(path), "PUSHER_APP_ID": "9"})
    assert [app.app_id for app in from_env.apps] == ["3", "4"]
    assert not from_env.is_demo_app
    from_arg = load_settings({}, apps_file=str(path))
    assert from_arg.apps == from_env.apps


@pytest.mark.parametrize(
    ("value", "expected"), [("/ws", "/ws"), ("/ws/", "/ws"), ("", ""), ("/", "")]
)
def test_path_prefix(value: str, expected: str) -> None:
    assert load_settings({"PUSHERD_PATH_PREFIX": value}).path_prefix == expected


def test_path_prefix_must_start_with_slash() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PUSHERD_PATH_PREFIX": "ws"})
    assert "'ws'" in str(caught.value)


def test_redis_url_is_a_secret() -> None:
    url = "redis://:password@127.0.0.1:6379/0"
    settings = load_settings({"PUSHERD_REDIS_URL": url})
    assert settings.redis_url == Secret(url)
    assert "password" not in repr(settings)


def test_bad_redis_url_is_not_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"REDIS_URL": "http://:password@host"})
    assert "password" not in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "laravel_database_"),
        ({"REDIS_PREFIX": "laravel-database-"}, "laravel-database-"),
        ({"PUSHERD_LARAVEL_REDIS_PREFIX": ""}, ""),
        ({"PUSHERD_LARAVEL_REDIS_PREFIX": "OFF"}, None),
        ({"PUSHERD_LARAVEL_REDIS_PREFIX": "a_", "REDIS_PREFIX": "b_"}, "a_"),
    ],
)
def test_laravel_redis_prefix(environ: dict[str, str], expected: str | None) -> None:
    """§14.8, checklist 97: empty, ``laravel_database_`` or ``laravel-database-``."""
    assert load_settings(environ).laravel_redis_prefix == expected


def test_run_poller_argument() -> None:
    assert load_settings({}, run_poller=False).run_poller is False
    assert load_settings({}).run_poller is True


@pytest.mark.parametrize(
    "environ",
    [
        {"PUSHER_APP_ID": "42", "PUSHER_APP_KEY": "k"},
        {"REVERB_APP_KEY": "k"},
        {"PUSHERD_APP_ID": "42", "PUSHERD_APP_SECRET": ""},
    ],
)
def test_configured_app_without_secret_never_gets_the_demo_secret(environ: dict[str, str]) -> None:
    """Anyone can read the demo secret, so a real app id or key without a secret fails."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert "SECRET" in str(caught.value)


def test_app_secret_alone_keeps_demo_id_and_key() -> None:
    (app,) = load_settings({"PUSHER_APP_SECRET": SECRET}).apps
    assert (app.app_id, app.key, app.secret) == (DEMO_APP_ID, DEMO_APP_KEY, Secret(SECRET))


def test_front_door_limits_and_metrics_token_from_the_environment() -> None:
    settings = load_settings(
        {
            "PUSHERD_HEADER_TIMEOUT_S": "2.5",
            "PUSHERD_MAX_HANDSHAKES_PER_ADDRESS": "0",
            "PUSHERD_METRICS_TOKEN": "t0ken",
        }
    )
    assert settings.front_door.header_timeout_s == 2.5
    assert settings.front_door.max_handshakes_per_address == 0
    assert settings.front_door.max_url_bytes == FrontDoorLimits().max_url_bytes
    assert settings.metrics_token == Secret("t0ken")
    assert "t0ken" not in repr(settings)
    assert load_settings({}, metrics_token="cli").metrics_token == Secret("cli")
    assert load_settings({}).metrics_token is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PUSHERD_HEADER_TIMEOUT_S", "soon"),
        ("PUSHERD_HEADER_TIMEOUT_S", "0"),
        ("PUSHERD_MAX_URL_BYTES", "-1"),
        ("PUSHERD_MAX_HEADERS", "1.5"),
    ],
)
def test_bad_front_door_limit_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})
