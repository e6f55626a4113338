"""Fixtures of the real-client suite: the Node driver and the Python SDK, aimed at the pusherd
servers that ``tests/conftest.py`` starts (``pusherd_server``, ``start_pusherd``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.e2e.node_driver import NodeDriver, ServerInfo, check_node_installed
from tests.e2e.python_sdk import PythonSdk
from tests.servers import RunningServer

OpenDriver = Callable[[ServerInfo], Awaitable[NodeDriver]]


@pytest.fixture(scope="session", autouse=True)
def _node_clients_installed() -> None:
    """Fail (never skip) the e2e suite when Node or the pinned npm packages are missing."""
    check_node_installed()


@pytest.fixture
async def open_driver() -> AsyncIterator[OpenDriver]:
    """``await open_driver(server)``: a Node driver whose Node SDK and Python-signed channel
    auth both target ``server``. Every driver (and its SDK sessions) is closed at teardown."""
    async with contextlib.AsyncExitStack() as stack:

        async def open_one(server: ServerInfo) -> NodeDriver:
            sdk = stack.enter_context(PythonSdk.open(server))
            return await stack.enter_async_context(
                NodeDriver.start(
                    server,
                    python_signer=sdk.authenticate,
                    python_user_signer=sdk.authenticate_user,
                )
            )

        yield open_one


@pytest.fixture
async def driver(pusherd_server: RunningServer, open_driver: OpenDriver) -> NodeDriver:
    """A Node driver for the default test server."""
    return await open_driver(pusherd_server)


@pytest.fixture
def python_sdk(pusherd_server: RunningServer) -> Iterator[PythonSdk]:
    """The PyPI ``pusher`` SDK for the default test server."""
    with PythonSdk.open(pusherd_server) as sdk:
        yield sdk
