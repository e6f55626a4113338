"""Python side of the real-client harness: one Node 20 process running pusher-js, Laravel Echo and
the Node ``pusher`` SDK (``tests/e2e/node/driver.mjs``), steered over JSON lines.

Commands go to the driver's stdin as ``{"id": n, "cmd": ..., ...}`` and are answered by
``{"reply": n, "ok": ..., "result"|"error": ...}``. Everything the clients see arrives as
observation lines ``{"obs": kind, "seq": n, ...}``: connection ``state`` changes,
``conn_error``, raw ``frame_in`` / ``frame_out`` text, ``closed`` (close code),
``channel_event`` (pusher-js channel emits, with ``metadata``), ``echo`` callbacks, and
``auth_request`` / ``auth_signed`` for channel authorization, ``user_auth_request`` /
``user_auth_signed`` for user authentication (``pusher.signin()``), ``user_event`` /
``watchlist_event`` / ``bound`` for callbacks bound through the driver, and ``sdk_post`` for each
request body the Node SDK posts.

Waits are bounded by :data:`TIME_UNIT_S` multiples (``PUSHERD_E2E_TIME_UNIT`` scales them on a slow
machine); correctness never depends on a sleep. A negative assertion ("never delivered") either
uses an ordering barrier (a later event on the same socket) or :meth:`NodeDriver.assert_quiet`,
a bounded observation window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tests.e2e.clients import EchoClient, PusherJsClient, echo_options, pusher_js_options

NODE_DIR = Path(__file__).resolve().parent / "node"
DRIVER = NODE_DIR / "driver.mjs"
INSTALL_COMMAND = "npm ci --prefix tests/e2e/node --no-audit --no-fund"

#: One scaled time unit, in seconds, for every bounded wait in the e2e suite.
TIME_UNIT_S = float(os.environ.get("PUSHERD_E2E_TIME_UNIT", "1.0"))

#: The master key both SDKs are configured with (bytes 0x00..0x1f, the reference's §5.3 example):
#: their channel auth adds ``shared_secret`` for ``private-encrypted-`` channels and their
#: triggers on such a channel encrypt. pusherd itself never knows it.
ENCRYPTION_MASTER_KEY_BASE64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

Obs = dict[str, Any]
Predicate = Callable[[Obs], bool]


class ServerInfo(Protocol):
    """What the harness needs to know about the Pusher-protocol server under test."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def app_id(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def secret(self) -> str: ...


class DriverError(RuntimeError):
    """The Node driver answered a command with an error, or died."""


def check_node_installed() -> str:
    """Return the ``node`` executable, or raise with the install command when anything is missing.

    A missing toolchain is a broken checkout, not a reason to skip: the e2e tests are part of
    the conformance bar (checklist §18), so the suite fails loudly.
    """
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node 20 is required for tests/e2e: no `node` on PATH")
    for package in ("pusher-js", "laravel-echo", "pusher"):
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            raise RuntimeError(
                f"tests/e2e/node/node_modules/{package} is missing; install the pinned clients "
                f"with `{INSTALL_COMMAND}` (from the repository root)"
            )
    return node


def _matches(obs: Obs, fields: dict[str, Any]) -> bool:
    return all(obs.get(k) == v for k, v in fields.items())


PythonSigner = Callable[[str, str, Any], dict[str, Any]]
PythonUserSigner = Callable[[str, Any], dict[str, Any]]


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Any]
    cmd: str


class NodeDriver:
    """A running ``driver.mjs``; use :meth:`start` as an async context manager."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        python_signer: PythonSigner,
        python_user_signer: PythonUserSigner | None = None,
    ) -> None:
        self._process = process
        self._python_signer = python_signer
        self._python_user_signer = python_user_signer
        self._next_id = 0
        self._pending: dict[int, _Pending] = {}
        self._changed = asyncio.Condition()
        self.observations: list[Obs] = []
        self.stderr_tail: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._readers = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]
        self.versions: dict[str, str] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        server: ServerInfo,
        *,
        python_signer: PythonSigner,
        python_user_signer: PythonUserSigner | None = None,
    ) -> AsyncIterator[NodeDriver]:
        """Start the driver, configure its Node SDK for ``server``, and kill it on exit."""
        node = check_node_installed()
        process = await asyncio.create_subprocess_exec(
            node,
            str(DRIVER),
            cwd=str(NODE_DIR),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=4 * 1024 * 1024,
        )
        driver = cls(process, python_signer, python_user_signer)
        try:
            driver.versions = await driver.request("hello")
            await driver.request(
                "sdk_setup",
                app_id=server.app_id,
                key=server.key,
                secret=server.secret,
                host=server.host,
                port=server.port,
                encryption_master_key_base64=ENCRYPTION_MASTER_KEY_BASE64,
            )
            yield driver
        finally:
            await driver.aclose()

    # -- process I/O -------------------------------------------------------------------------

    async def _read_stdout(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        while line := await stdout.readline():
            try:
                message: dict[str, Any] = json.loads(line)
            except ValueError:  # stray output is kept for diagnostics, never fatal
                self.stderr_tail.append(f"[stdout] {line.decode(errors='replace').rstrip()}")
                continue
            if "reply" in message:
                pending = self._pending.pop(message["reply"], None)
                if pending is None or pending.future.done():
                    continue
                if message["ok"]:
                    pending.future.set_result(message["result"])
                else:
                    pending.future.set_exception(
                        DriverError(f"{pending.cmd} failed: {message['error']}")
                    )
                continue
            if message.get("obs") == "auth_request":
                self._spawn(self._answer_auth(message))
            elif message.get("obs") == "user_auth_request":
                self._spawn(self._answer_user_auth(message))
            async with self._changed:
                self.observations.append(message)
                self._changed.notify_all()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(DriverError(f"driver exited during {pending.cmd}"))
        self._pending.clear()
        async with self._changed:
            self._changed.notify_all()

    async def _read_stderr(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        while line := await stderr.readline():
            self.stderr_tail.append(line.decode(errors="replace").rstrip())
            del self.stderr_tail[:-200]

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_auth(self, message: Obs) -> None:
        try:
            result = self._python_signer(
                message["socket_id"], message["channel_name"], message.get("presence_data")
            )
        except Exception as exc:  # the SDK refused (bad socket id or channel name): report it
            await self.request("auth_response", req=message["req"], error=repr(exc))
        else:
            await self.request("auth_response", req=message["req"], result=result)

    async def _answer_user_auth(self, message: Obs) -> None:
        try:
            if self._python_user_signer is None:
                raise RuntimeError("this driver has no Python user signer")
            result = self._python_user_signer(message["socket_id"], message["user_data"])
        except Exception as exc:  # the SDK refused the user data: pusher-js gets an error
            await self.request("auth_response", req=message["req"], error=repr(exc))
        else:
            await self.request("auth_response", req=message["req"], result=result)

    async def request(self, cmd: str, *, timeout_s: float | None = None, **args: Any) -> Any:
        """Send one command and return its ``result``; raise :class:`DriverError` on failure."""
        stdin = self._process.stdin
        if stdin is None or self._process.returncode is not None:
            raise DriverError(f"driver is not running (cmd {cmd})")
        self._next_id += 1
        command_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = _Pending(future, cmd)
        stdin.write(json.dumps({"id": command_id, "cmd": cmd, **args}).encode() + b"\n")
        await stdin.drain()
        try:
            return await asyncio.wait_for(future, timeout_s or 10 * TIME_UNIT_S)
        finally:
            self._pending.pop(command_id, None)

    async def aclose(self) -> None:
        """Ask the driver to disconnect every client, then make sure the process is gone."""
        process = self._process
        if process.returncode is None:
            with contextlib.suppress(DriverError, TimeoutError, ConnectionError):
                await self.request("shutdown", timeout_s=2 * TIME_UNIT_S)
            if process.stdin is not None:
                process.stdin.close()
                with contextlib.suppress(ConnectionError):
                    await process.stdin.wait_closed()
            try:
                await asyncio.wait_for(process.wait(), 3 * TIME_UNIT_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        for task in [*self._readers, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._readers, *self._tasks, return_exceptions=True)

    # -- observations -----------------------------------------------------------------------

    @property
    def cursor(self) -> int:
        """Index of the next observation; pass it as ``since`` to look only at what follows."""
        return len(self.observations)

    def find(
        self, predicate: Predicate | None = None, *, since: int = 0, **fields: Any
    ) -> list[Obs]:
        """Every observation from index ``since`` on whose fields equal ``fields``."""
        return [
            obs
            for obs in self.observations[since:]
            if _matches(obs, fields) and (predicate is None or predicate(obs))
        ]

    async def wait_for(
        self,
        predicate: Predicate | None = None,
        *,
        since: int = 0,
        timeout_units: float = 5.0,
        **fields: Any,
    ) -> Obs:
        """The first observation (from ``since``) matching ``fields`` and ``predicate``.

        Raises ``AssertionError`` with the recent observations when none arrives in time.
        """

        def first() -> Obs | None:
            found = self.find(predicate, since=since, **fields)
            return found[0] if found else None

        async with self._changed:
            try:
                async with asyncio.timeout(timeout_units * TIME_UNIT_S):
                    while (obs := first()) is None:
                        if self._process.returncode is not None and self._readers[0].done():
                            break
                        await self._changed.wait()
            except TimeoutError:
                obs = None
        if obs is None:
            raise AssertionError(
                f"no observation {fields} (predicate={predicate is not None}) within "
                f"{timeout_units * TIME_UNIT_S:.1f}s; recent:\n{self.describe(since=since)}"
            )
        return obs

    async def wait_until(
        self, condition: Callable[[], bool], *, what: str, timeout_units: float = 5.0
    ) -> None:
        """Wait until ``condition()`` holds, re-checking after every new observation."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout_units * TIME_UNIT_S):
                    await self._changed.wait_for(condition)
            except TimeoutError:
                raise AssertionError(
                    f"{what}: not reached within {timeout_units * TIME_UNIT_S:.1f}s; recent:\n"
                    f"{self.describe()}"
                ) from None

    async def assert_quiet(
        self,
        predicate: Predicate | None = None,
        *,
        since: int = 0,
        for_units: float = 2.0,
        **fields: Any,
    ) -> None:
        """Assert that no matching observation appears during a bounded window.

        Only for rules that are about *absence over time* (no reconnect attempt, nothing
        delivered); the window is a bounded observation, never a precondition.
        """
        with contextlib.suppress(AssertionError):
            obs = await self.wait_for(predicate, since=since, timeout_units=for_units, **fields)
            raise AssertionError(f"unexpected observation {obs}\n{self.describe(since=since)}")

    def describe(self, *, since: int = 0, limit: int = 40) -> str:
        """Recent observations and driver stderr, for assertion messages."""
        lines = [json.dumps(obs) for obs in self.observations[since:][-limit:]]
        lines.append("-- driver stderr (tail) --")
        lines.extend(self.stderr_tail[-10:])
        return "\n".join(lines)

    # -- clients ----------------------------------------------------------------------------

    async def pusher(
        self,
        name: str,
        server: ServerInfo,
        *,
        signer: str = "none",
        user: dict[str, Any] | None = None,
        key: str | None = None,
        port: int | None = None,
        options: dict[str, Any] | None = None,
        user_signer: str = "none",
        user_data: dict[str, Any] | str | None = None,
    ) -> PusherJsClient:
        """Create a pusher-js 8 client (it starts connecting at once).

        ``user_signer`` (``node``, ``node-wrong-secret``, ``python``, or ``app`` for a
        ``user_data`` string signed as given) signs ``user_data`` for ``pusher.signin()``;
        ``signer`` and ``user`` are the channel authorization's.
        """
        opts = pusher_js_options(server.host, port or server.port) | (options or {})
        await self.request(
            "create_pusher",
            client=name,
            key=key or server.key,
            options=opts,
            signer=signer,
            user=user,
            user_signer=user_signer,
            user_data=user_data,
        )
        return PusherJsClient(self, name)

    async def echo(
        self,
        name: str,
        server: ServerInfo,
        *,
        broadcaster: str = "reverb",
        signer: str = "none",
        user: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        user_signer: str = "none",
        user_data: dict[str, Any] | str | None = None,
    ) -> EchoClient:
        """Create a Laravel Echo 2 client (``reverb`` passes ``cluster: ''`` itself)."""
        opts = echo_options(server.host, server.port, broadcaster) | (options or {})
        await self.request(
            "create_echo",
            client=name,
            broadcaster=broadcaster,
            key=server.key,
            options=opts,
            signer=signer,
            user=user,
            user_signer=user_signer,
            user_data=user_data,
        )
        return EchoClient(self, name)

    async def sdk_trigger(
        self,
        channels: str | list[str],
        event: str,
        data: Any,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Trigger through the Node ``pusher`` SDK; returns ``{"status", "body"}``."""
        result: dict[str, Any] = await self.request(
            "sdk_trigger", channels=channels, event=event, data=data, params=params
        )
        return result

    async def sdk_send_to_user(self, user_id: str, event: str, data: Any) -> dict[str, Any]:
        """Node SDK ``sendToUser(user_id, event, data)``; returns ``{"status", "body"}``."""
        result: dict[str, Any] = await self.request(
            "sdk_send_to_user", user_id=user_id, event=event, data=data
        )
        return result

    async def sdk_terminate(self, user_id: str) -> dict[str, Any]:
        """Node SDK ``terminateUserConnections(user_id)``; returns ``{"status", "body"}``."""
        result: dict[str, Any] = await self.request("sdk_terminate", user_id=user_id)
        return result

    async def sdk_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A signed ``POST /apps/{id}{path}`` built by the Node SDK's ``post()``, any body."""
        result: dict[str, Any] = await self.request("sdk_post", path=path, body=body)
        return result
