"""deploy/compose.yaml and the HAProxy config in front of it: checked by the real tools
(``docker-compose config``, ``haproxy -c``) and for what a WebSocket deployment needs."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY, require_tool

COMPOSE = DEPLOY / "compose.yaml"
HAPROXY_CFG = DEPLOY / "haproxy" / "haproxy.cfg"
NODES = ("pusherd1", "pusherd2", "pusherd3")
#: Pusher's activity timeout (120 s) plus the 30 s the client waits for a pong.
IDLE_SOCKET_S = 150


def _compose_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHERD_", "POLLER_"))}
    env.update(values)
    return env


def _resolved() -> dict[str, Any]:
    """The file as Compose resolves it (anchors, merges, interpolation)."""
    compose = require_tool("docker-compose")
    result = subprocess.run(
        [compose, "-f", str(COMPOSE), "config"],
        env=_compose_env(PUSHERD_APP_KEY="deploy-key", PUSHERD_APP_SECRET="deploy-secret"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert isinstance(document, dict)
    return document


def test_compose_refuses_to_start_without_app_credentials() -> None:
    compose = require_tool("docker-compose")
    result = subprocess.run(
        [compose, "-f", str(COMPOSE), "config"],
        env=_compose_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "set PUSHERD_APP_KEY" in result.stderr


def test_compose_runs_redis_three_nodes_one_poller_and_a_load_balancer() -> None:
    services = _resolved()["services"]
    assert set(services) == {"redis", *NODES, "poller", "lb"}
    for name in NODES:
        node = services[name]
        assert node["command"] == ["server"]  # no embedded poller on the nodes
        env = node["environment"]
        assert env["PUSHERD_ADAPTER"] == "redis"
        assert env["PUSHERD_REDIS_URL"] == "redis://redis:6379/0"
        assert env["PUSHERD_APP_KEY"] == "deploy-key"
        assert env["PUSHERD_APP_SECRET"] == "deploy-secret"
        assert node["ulimits"]["nofile"]["soft"] >= 65536
        assert node["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "ports" not in node  # reached through the load balancer only
    poller = services["poller"]
    assert poller["command"][0] == "poller"
    assert poller["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert (
        poller["environment"]["POLLER_APP_ID"]
        == services["pusherd1"]["environment"]["PUSHERD_APP_ID"]
    )
    lb = services["lb"]
    assert [p["published"] for p in lb["ports"]] == [8080]
    assert any(v.endswith(":/usr/local/etc/haproxy/haproxy.cfg:ro") for v in lb["volumes"])
    assert {lb["depends_on"][n]["condition"] for n in NODES} == {"service_healthy"}


def test_haproxy_config_is_valid_for_haproxy() -> None:
    haproxy = require_tool("haproxy")
    result = subprocess.run(
        [haproxy, "-c", "-f", str(HAPROXY_CFG)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr
    # The only warnings allowed: compose's service names do not resolve on this machine.
    for line in (result.stdout + result.stderr).splitlines():
        if "[WARNING]" in line:
            assert re.search(r"could not resolve address 'pusherd\d'", line), line


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert match is not None, f"not a duration: {value!r}"
    number, unit = match.groups()
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 0.001}[unit]


def test_haproxy_keeps_idle_websockets_and_checks_every_node() -> None:
    text = HAPROXY_CFG.read_text()
    timeouts = dict(re.findall(r"(?m)^\s+timeout ([\w-]+) (\S+)$", text))
    # After the upgrade only the tunnel timeout applies: shorter would cut idle Pusher sockets.
    assert _seconds(timeouts["tunnel"]) > IDLE_SOCKET_S
    servers = re.findall(r"(?m)^\s+server (\S+) (\S+):(\d+)$", text)
    assert [(name, host) for name, host, _ in servers] == [(n, n) for n in NODES]
    assert re.search(r"(?m)^\s+default-server check ", text)
    assert re.search(r"(?m)^\s+http-check send meth GET uri /up$", text)
    assert re.search(r"(?m)^\s+http-request deny .*path_beg /metrics", text)
