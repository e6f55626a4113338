"""The scoreboard page (``clients/js-example``) in real headless Chromium, against the demo.

The demo runs as its own process on loopback (a fresh port, its key database in ``tmp_path``);
the page is built from source first (``node build.mjs``, what ``npm run build`` runs). The browser
side is ``clients/js-example/tests/browser.mjs`` (playwright-core driving Debian's
``/usr/bin/chromium``; no browser download): it waits for a cached match on open, a score change
on screen, presence 1 → 2 → 1 as a second viewer (another key, another user) joins and leaves,
a clear message for a bad key, and the reconnecting → connected display after the socket drops,
then saves a screenshot (``scoreboard.png`` in the test's temporary folder; it refreshes
``clients/js-example/screenshot.png`` when that is missing or ``PUSHERD_UPDATE_SCREENSHOT=1``).
Every process is killed at teardown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.e2e.node_driver import TIME_UNIT_S
from tests.e2e.scoreboard_feed import MatchFeed

pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / "clients" / "js-example"
BROWSER_SCRIPT = CLIENT_DIR / "tests" / "browser.mjs"
README_SCREENSHOT = CLIENT_DIR / "screenshot.png"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = (
    "`npm ci --prefix clients/js-example` and `apt-get install chromium` "
    "(scripts/test-setup.sh does both)"
)

#: The demo: pusherd with the auth endpoints, the simulated poller and this page on one port,
#: printing its banner. A stand-in composes it until ``python -m pusherd`` mounts the page.
DEMO_MODULE = "pusherd"

_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
_APP = re.compile(r"app id (\S+)\s+key (\S+)\s+secret (\S+)")
_DEMO_KEY = re.compile(r"demo API key: (pk_\S+)")
_CREATED_KEY = re.compile(r"^(pk_\S+)$", re.MULTILINE)
#: Variables that would point the demo at another app, database, Redis or the real upstream.
_FOREIGN_ENV = re.compile(
    r"^(PUSHERD_|REVERB_|PUSHER_|AUTH_|POLLER_|RAPIDAPI_|REDIS_URL$|DATABASE_URL$)"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Demo:
    url: str
    port: int
    app_id: str
    key: str
    secret: str
    demo_api_key: str | None


def _require_toolchain() -> str:
    """The ``node`` executable; fail (never skip) with the install command when anything lacks."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node 20 is required for the browser test: no `node` on PATH")
    for package in ("playwright-core", "laravel-echo", "pusher-js", "esbuild"):
        if not (CLIENT_DIR / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"clients/js-example/node_modules/{package} is missing: {INSTALL_HINT}")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL_HINT}")
    return node


def _free_port() -> int:
    """A free loopback port (``python -m pusherd`` prints the port it was given, not port 0's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _demo_env(tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not _FOREIGN_ENV.match(name)}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _create_key(env: dict[str, str], name: str) -> str:
    """An enterprise key (presence needs it) from the auth CLI, in the demo's database."""
    result = subprocess.run(
        [sys.executable, "-m", "auth", "keys", "create", "--name", name, "--tier", "enterprise"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30 * TIME_UNIT_S,
        check=True,
    )
    found = _CREATED_KEY.search(result.stdout)
    assert found, f"no key in `auth keys create` output: {result.stdout!r}"
    return found.group(1)


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _read_banner(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> Demo:
    """The URL and app from the banner; the rest of it is printed before the port opens."""
    deadline = time.monotonic() + 20 * TIME_UNIT_S
    seen: list[str] = []
    url = app = None
    while not (url and app) and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        url = url or _LISTENING.search(line)
        app = app or _APP.search(line)
    if not (url and app):
        pytest.fail(f"demo printed no URL/app (exit {process.poll()}): {seen}")
    return Demo(
        url=url.group(1) + "/",
        port=int(url.group(2)),
        app_id=app.group(1),
        key=app.group(2),
        secret=app.group(3),
        demo_api_key=None,
    )


def _demo_api_key(lines: queue.Queue[str | None]) -> str | None:
    """The demo API key, if the banner (all printed once the port answers) has one."""
    while True:
        try:
            line = lines.get_nowait()
        except queue.Empty:
            return None
        if line is None:
            return None
        if found := _DEMO_KEY.search(line):
            return found.group(1)


def _wait_ready(demo: Demo) -> None:
    deadline = time.monotonic() + 20 * TIME_UNIT_S
    with httpx.Client(timeout=2) as client:
        while True:
            try:
                if client.get(f"{demo.url}up").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"demo at {demo.url} did not answer /up")
            time.sleep(0.05)


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    return _demo_env(tmp_path)


@pytest.fixture
def demo(tmp_path: Path, demo_env: dict[str, str]) -> Iterator[Demo]:
    """The demo process on a fresh loopback port; terminated (then killed) at teardown."""
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", DEMO_MODULE, "--host", "127.0.0.1", "--port", str(_free_port())],
        cwd=ROOT,
        env=demo_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        found = _read_banner(process, lines)
        _wait_ready(found)
        yield dataclasses.replace(found, demo_api_key=_demo_api_key(lines))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        process.stdout.close()
        log.close()


def _build_page(node: str) -> None:
    """Build ``dist/`` from source, as ``npm run build`` does, so the test sees current code."""
    subprocess.run([node, "build.mjs"], cwd=CLIENT_DIR, check=True, capture_output=True, timeout=60)


def _run_browser(node: str, options: dict[str, Any], feed: MatchFeed) -> list[dict[str, Any]]:
    """Run ``browser.mjs``, answer its requests (``{"need": ...}``) and return its steps.

    Bounded: the whole run gets ``60 * TIME_UNIT_S`` seconds, then the script is killed.
    """
    process = subprocess.Popen(
        [node, str(BROWSER_SCRIPT), json.dumps(options)],
        cwd=CLIENT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: Chromium goes with it on a kill
    )
    assert process.stdin is not None and process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60 * TIME_UNIT_S
    steps: list[dict[str, Any]] = []
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            if message.get("need") == "publish_once":
                feed.publish_once()
                with contextlib.suppress(BrokenPipeError):  # it died: its result line says why
                    process.stdin.write(json.dumps({"done": "publish_once"}) + "\n")
                    process.stdin.flush()
            else:
                steps.append(message)
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"browser script did not finish in time; steps so far: {steps}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        reader.join(timeout=5)
        stderr = process.stderr.read() if process.stderr else ""
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    final = steps[-1] if steps else {}
    if process.returncode != 0 or not final.get("ok"):
        details = json.dumps(final, indent=2) if final else "(no result line)"
        pytest.fail(
            f"browser checks failed (exit {process.returncode}; screenshots in "
            f"{options['outDir']}):\n{details}\n{stderr}"
        )
    return steps


def test_scoreboard_in_chromium(tmp_path: Path, demo: Demo, demo_env: dict[str, str]) -> None:
    node = _require_toolchain()
    _build_page(node)
    config = httpx.get(f"{demo.url}demo/config.json", timeout=5).json()
    assert config["key"] == demo.key
    good_keys = [demo.demo_api_key or _create_key(demo_env, "Ada Lovelace")]
    good_keys.append(_create_key(demo_env, "Grace Hopper"))
    feed = MatchFeed(
        host="127.0.0.1", port=demo.port, app_id=demo.app_id, key=demo.key, secret=demo.secret
    )
    feed.start()
    try:
        steps = _run_browser(
            node,
            {
                "url": demo.url,
                "goodKeys": good_keys,
                "badKey": "pk_0000000000000000.not-a-real-secret",
                "matchId": feed.scoring.match_id,
                "onceMatchId": feed.once.match_id,
                "feedMatchIds": feed.match_ids,
                "outDir": str(tmp_path / "browser"),
                "userDataDir": str(tmp_path / "chromium-profile"),
                "timeoutMs": int(10_000 * TIME_UNIT_S),
            },
            feed,
        )
    finally:
        feed.stop()
    print("\n".join(json.dumps(step) for step in steps))  # shown by pytest -s / on failure
    by_step = {step.get("step"): step for step in steps}
    assert by_step["score changed"]["before"] != by_step["score changed"]["after"]
    assert by_step["seeded from the API"]["matches"] > 0
    assert by_step["reconnect"]["seededAgain"] is True
    assert by_step["api docs"]["operations"] == 8
    assert by_step["presence"]["watching"] == 2
    assert "401" in by_step["bad key"]["message"]
    screenshot = Path(steps[-1]["screenshot"])
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    # The README's copy is committed: refreshed on request, so a test run leaves no diff.
    if not README_SCREENSHOT.exists() or os.environ.get("PUSHERD_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, README_SCREENSHOT)
