"""Starting, watching and stopping the two servers under test (pinned to CPU 0 with taskset)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SOKETI_DIR = BENCH_DIR / ".soketi"
SOKETI_BIN = SOKETI_DIR / "node_modules" / ".bin" / "soketi"
INSTALL_SOKETI = Path("/work/shared/tools/install-soketi.sh")
LOG_DIR = BENCH_DIR / "results" / "logs"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

SERVER_CPU = 0
LOAD_CPU = 1


@dataclass(frozen=True)
class App:
    app_id: str
    key: str
    secret: str


PUSHERD_APP = App("1001", "bench-key", "bench-secret")
SOKETI_APP = App("app-id", "app-key", "app-secret")

# soketi settings (defaults read from dist/server.js and dist/cli/cli.js of soketi 1.6.1).
# Its default app already has maxConnections, maxClientEventsPerSecond and
# maxBackendEventsPerSecond at -1 (unlimited) and a 100 KB payload limit; these are set
# explicitly so the bench does not depend on those defaults.
SOKETI_ENV = {
    "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
    "SOKETI_DEFAULT_APP_MAX_CONNS": "-1",
    "SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC": "-1",
    "SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC": "-1",
    "SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC": "-1",
    "SOKETI_EVENT_MAX_SIZE_IN_KB": "100",
    "SOKETI_SHUTDOWN_GRACE_PERIOD": "200",
    "SOKETI_METRICS_ENABLED": "false",
    "SOKETI_METRICS_HOST": "127.0.0.1",
    "SOKETI_DEBUG": "false",
}


def runqueue_wait_seconds(pid: int | str) -> float:
    """Sum over a process's threads of the time spent waiting on a run queue."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ensure_soketi() -> Path:
    if not SOKETI_BIN.exists():
        print(f"installing soketi into {SOKETI_DIR} ...", flush=True)
        subprocess.run(["bash", str(INSTALL_SOKETI), str(SOKETI_DIR)], check=True)
    return SOKETI_BIN


# pusherd's client-event rate limit defaults to Pusher's 10/s per connection, which would make
# the round-trip scenario measure the limiter; soketi's default app has no limit (-1). The bench
# gives pusherd an apps file with the same credentials and a limit far above what is reachable.
PUSHERD_APPS_TOML = """[[apps]]
id = "{app_id}"
key = "{key}"
secret = "{secret}"
client_event_rate_per_s = 1000000
"""


@dataclass
class ServerKind:
    name: str
    app: App
    health_path: str
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    apps_file: bool = True  # pusherd only: pass the generated apps file

    def command(self, port: int) -> tuple[list[str], dict[str, str], Path]:
        env = dict(os.environ)
        pin = ["taskset", "-c", str(SERVER_CPU)]
        if self.name == "soketi":
            env.update(SOKETI_ENV)
            env.update(
                SOKETI_HOST="127.0.0.1",
                SOKETI_PORT=str(port),
                SOKETI_METRICS_SERVER_PORT=str(free_port()),
            )
            env.update(self.extra_env)
            argv = [*pin, str(ensure_soketi()), "start", *self.extra_args]
            return argv, env, SOKETI_DIR  # cwd: soketi reads a .env from its cwd
        env.update(
            PUSHERD_APP_ID=self.app.app_id,
            PUSHERD_APP_KEY=self.app.key,
            PUSHERD_APP_SECRET=self.app.secret,
        )
        env.update(self.extra_env)
        python = REPO / ".venv" / "bin" / "python"
        exe = str(python) if python.exists() else sys.executable
        apps: list[str] = []
        if self.apps_file:
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            toml = LOG_DIR / "pusherd-apps.toml"
            toml.write_text(
                PUSHERD_APPS_TOML.format(
                    app_id=self.app.app_id, key=self.app.key, secret=self.app.secret
                )
            )
            apps = ["--apps-file", str(toml)]
        argv = [
            *pin,
            exe,
            "-m",
            "pusherd",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-poller",
            *apps,
            *self.extra_args,
        ]
        return argv, env, REPO


class ServerError(RuntimeError):
    pass


class RunningServer:
    def __init__(self, kind: ServerKind, port: int, proc: subprocess.Popen[bytes], log: Path):
        self.kind = kind
        self.port = port
        self.proc = proc
        self.log = log

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def app(self) -> App:
        return self.kind.app

    def pids(self) -> list[int]:
        """The server process and all its descendants."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        out: list[int] = []
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's process tree (all threads)."""
        total = 0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK

    def wait_seconds(self) -> float:
        """Time the server's threads spent runnable but waiting for a CPU (schedstat)."""
        return sum(runqueue_wait_seconds(pid) for pid in self.pids())

    def memory_kib(self) -> tuple[int, int]:
        """(sum of VmRSS, sum of Pss) over the process tree, in KiB."""
        rss = pss = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            except OSError:
                continue
        return rss, pss

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        request = (
            f"GET {self.kind.health_path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServerError(
                    f"{self.name} exited with code {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(request)
                line = await asyncio.wait_for(reader.readline(), 2.0)
                writer.close()
                if line.split(b" ")[1:2] == [b"200"]:
                    return
            except (OSError, TimeoutError, IndexError):
                pass
            await asyncio.sleep(0.1)
        raise ServerError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group, then SIGKILL whatever is left."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


_RUNNING: list[RunningServer] = []
_SPIES: list[tuple[subprocess.Popen[bytes], Path]] = []


def start_py_spy(srv: RunningServer, label: str) -> tuple[subprocess.Popen[bytes], Path] | None:
    """Sample the server with py-spy (pinned to the load CPU) until stop_py_spy; the output is
    py-spy's collapsed-stack text ("frame;frame;... count" per line; flamegraph.pl and
    speedscope read it)."""
    exe = REPO / ".venv" / "bin" / "py-spy"
    if not exe.exists():
        return None
    out = BENCH_DIR / "results" / f"pyspy-{label}.txt"
    log = LOG_DIR / f"py-spy-{label}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(LOAD_CPU),
                str(exe),
                "record",
                "--pid",
                str(srv.proc.pid),
                "--rate",
                "200",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    spy = (proc, out)
    _SPIES.append(spy)
    return spy


def stop_py_spy(spy: tuple[subprocess.Popen[bytes], Path]) -> str:
    """SIGINT makes py-spy write its flame graph; returns its path (or why there is none)."""
    proc, out = spy
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if spy in _SPIES:
        _SPIES.remove(spy)
    return str(out) if out.exists() else f"no output (exit code {proc.returncode})"


def py_spy_top(path: str, limit: int = 15) -> list[str]:
    """The functions where the sampled time was spent (self time), from a collapsed-stack file."""
    counts: dict[str, int] = {}
    total = 0
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        counts[leaf] = counts.get(leaf, 0) + int(n)
        total += int(n)
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
    return [f"{100 * c / total:5.1f}%  {leaf}" for leaf, c in top] if total else []


def start(kind: ServerKind, label: str) -> RunningServer:
    port = free_port()
    argv, env, cwd = kind.command(port)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{kind.name}-{label}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = RunningServer(kind, port, proc, log)
    _RUNNING.append(srv)
    return srv


def stop(srv: RunningServer) -> None:
    srv.stop()
    if srv in _RUNNING:
        _RUNNING.remove(srv)


def stop_all() -> None:
    for spy in list(_SPIES):
        stop_py_spy(spy)
    for srv in list(_RUNNING):
        stop(srv)
