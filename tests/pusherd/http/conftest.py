"""A module-wide server for stateless refusal tests, so each case does not pay a start and stop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import RunningServer, make_settings


@pytest.fixture(scope="module")
def shared_server() -> Iterator[RunningServer]:
    """Like ``pusherd_server`` but shared by a module: only for tests that leave no state behind
    (refused connections, refused subscriptions, rejected requests)."""
    server = RunningServer(make_settings()).start()
    try:
        yield server
    finally:
        server.stop()
