"""The image itself, built and run by a real Docker engine (opt-in: ``PUSHERD_DOCKER_TESTS=1``).

Builds the Dockerfile (layers cached, so a rerun after a code change rebuilds only the last
steps), runs the ``server`` role with ``--network host`` on a free loopback port, and drives it
as a client would: the health check turns healthy, a WebSocket subscribes, a signed HTTP trigger
reaches it, the scoreboard page built in the Node stage is served, the process runs as the
unprivileged user, and ``docker stop`` (SIGTERM) ends it cleanly.

Without a registry the bases come from Debian's packages: ``deploy/docker/make-bases.sh`` makes
``pusherd-base/python:bookworm`` and ``pusherd-base/node:trixie``, used when they exist
(``PUSHERD_DOCKER_BASE`` / ``PUSHERD_DOCKER_NODE_BASE`` choose others). Why opt-in: a cold build
takes minutes (bases, npm and PyPI downloads) and needs a Docker engine CI does not start; the
always-on tests (hadolint, the entrypoint run directly, compose and HAProxy checks) cover the rest.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import pusher
import pytest
import websockets

from tests.deploy.conftest import ROOT

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(
        os.environ.get("PUSHERD_DOCKER_TESTS") != "1",
        reason="builds the image: set PUSHERD_DOCKER_TESTS=1 (and a running Docker engine)",
    ),
]

IMAGE = "pusherd:test"
APP_ID, KEY, SECRET = "42", "image-test-key", "image-test-secret"
LOCAL_BASES = {
    "BASE": ("PUSHERD_DOCKER_BASE", "pusherd-base/python:bookworm"),
    "NODE_BASE": ("PUSHERD_DOCKER_NODE_BASE", "pusherd-base/node:trixie"),
}


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail("docker is missing (PUSHERD_DOCKER_TESTS=1 was set)")
    return subprocess.run(
        [docker, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _build_args() -> list[str]:
    args = []
    for arg, (variable, local) in LOCAL_BASES.items():
        base = os.environ.get(variable)
        if base is None and _docker("image", "inspect", local).returncode == 0:
            base = local
        if base is not None:  # otherwise the Dockerfile's official default
            args += ["--build-arg", f"{arg}={base}"]
    return args


@pytest.fixture(scope="module")
def image() -> str:
    if _docker("info").returncode != 0:
        pytest.fail("no Docker engine answers (PUSHERD_DOCKER_TESTS=1 was set)")
    # --network host: the build reaches PyPI and npm without Docker's bridge network.
    built = _docker(
        "build", "--network", "host", *_build_args(), "-t", IMAGE, str(ROOT), timeout=1200
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return IMAGE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def container(image: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    name = f"pusherd-test-{uuid.uuid4().hex[:12]}"
    started = _docker(
        "run", "--detach", "--network", "host", "--name", name,
        "-e", "PUSHERD_HOST=127.0.0.1", "-e", f"PUSHERD_PORT={port}",
        "-e", f"PUSHERD_APP_ID={APP_ID}", "-e", f"PUSHERD_APP_KEY={KEY}",
        "-e", f"PUSHERD_APP_SECRET={SECRET}",
        image, "server",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield name, port
    finally:
        _docker("rm", "--force", name)


def _health(name: str) -> str:
    return _docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()


def _wait_up(port: int, name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/up", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail("no /up within 60 s: " + _docker("logs", name).stdout[-2000:])


async def _subscribe_and_trigger(port: int) -> dict[str, object]:
    url = f"ws://127.0.0.1:{port}/app/{KEY}?protocol=7&client=deploy-test&version=1"
    async with websockets.connect(url) as ws:
        established = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert established["event"] == "pusher:connection_established"
        subscribe = {"event": "pusher:subscribe", "data": {"channel": "deploy"}}
        await ws.send(orjson.dumps(subscribe).decode())
        succeeded = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert succeeded["event"] == "pusher_internal:subscription_succeeded"
        sdk = pusher.Pusher(
            app_id=APP_ID, key=KEY, secret=SECRET, host="127.0.0.1", port=port, ssl=False
        )
        await asyncio.to_thread(sdk.trigger, "deploy", "built", {"from": "the image"})
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert isinstance(event, dict)
        return event


def test_the_image_serves_websockets_signed_triggers_and_the_page(
    container: tuple[str, int],
) -> None:
    name, port = container
    _wait_up(port, name)
    # Runs as the unprivileged user from the Dockerfile.
    assert _docker("exec", name, "id", "-u").stdout.strip() == "10001"
    event = asyncio.run(_subscribe_and_trigger(port))
    assert event["event"] == "built" and event["channel"] == "deploy"
    assert orjson.loads(str(event["data"])) == {"from": "the image"}
    # A wrong signature is refused, as by the server outside Docker.
    bad = pusher.Pusher(
        app_id=APP_ID, key=KEY, secret="not-the-secret", host="127.0.0.1", port=port, ssl=False
    )
    with pytest.raises(pusher.errors.PusherBadAuth):
        bad.trigger("deploy", "built", {})
    # The scoreboard page was built in the Node stage and copied in.
    page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert page.status_code == 200 and "<script" in page.text
    # The image's HEALTHCHECK (every 10 s after a 20 s start period) turns healthy.
    deadline = time.monotonic() + 60
    while _health(name) != "healthy" and time.monotonic() < deadline:
        time.sleep(1)
    assert _health(name) == "healthy"
    # docker stop sends the image's STOPSIGNAL (SIGTERM): a clean stop well before the kill.
    began = time.monotonic()
    stopped = _docker("stop", "--time", "20", name, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert time.monotonic() - began < 15
    code = _docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    assert code in ("0", "143"), _docker("logs", name).stderr[-2000:]
