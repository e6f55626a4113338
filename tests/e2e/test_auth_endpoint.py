"""pusher-js and Laravel Echo against the auth service through pusherd (issue 5 item 5).

The clients are configured as an app would configure them: ``authEndpoint`` on pusherd's own
port and the API key as a bearer token; nothing signs on their behalf.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.auth_server import MATCH, create_key, embedded_auth_server
from tests.e2e.conftest import OpenDriver
from tests.servers import RunningServer

pytestmark = pytest.mark.node


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auth.sqlite3'}"


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    with embedded_auth_server(tmp_path, database_url) as running:
        yield running


def _endpoint_options(server: RunningServer, key: str) -> dict[str, Any]:
    """What a page's ``echo.js`` passes: the endpoint and the key as a bearer token."""
    return {
        "authEndpoint": f"{server.http_url}/broadcasting/auth",
        "bearerToken": key,
    }


@pytest.mark.parametrize("broadcaster", ["reverb", "pusher"])
async def test_echo_joins_presence_with_a_bearer_key_and_here_shows_user_info(
    server: RunningServer, open_driver: OpenDriver, database_url: str, broadcaster: str
) -> None:
    ada_key = create_key(database_url, tier="pro", name="Ada Lovelace")
    lin_key = create_key(database_url, tier="pro", name="Lin Qiao")
    driver = await open_driver(server)
    ada = await driver.echo(
        "ada",
        server,
        broadcaster=broadcaster,
        signer="endpoint",
        options=_endpoint_options(server, ada_key),
    )
    await ada.on("join", MATCH, "here")
    first = await ada.call("here")
    [[ada_info]] = first["args"]
    assert ada_info["name"] == "Ada Lovelace"
    assert set(ada_info) == {"id", "name"}  # what the rule exposes, never the key
    await ada.on("join", MATCH, "joining")
    lin = await driver.echo(
        "lin",
        server,
        broadcaster=broadcaster,
        signer="endpoint",
        options=_endpoint_options(server, lin_key),
    )
    await lin.on("join", MATCH, "here")
    [members] = (await lin.call("here"))["args"]
    assert sorted(member["name"] for member in members) == ["Ada Lovelace", "Lin Qiao"]
    joining = await ada.call("joining")
    assert joining["args"][0]["name"] == "Lin Qiao"


async def test_pusher_js_private_channel_through_the_endpoint_and_a_free_key_refused(
    server: RunningServer, open_driver: OpenDriver, database_url: str
) -> None:
    driver = await open_driver(server)
    pro_key = create_key(database_url, tier="pro", name="Ada")
    free_key = create_key(database_url, tier="free", name="Fran")
    channel = f"private-{MATCH}"
    clients = {}
    for name, key in (("pro", pro_key), ("free", free_key)):
        clients[name] = await driver.pusher(
            name,
            server,
            signer="endpoint",
            options={
                "channelAuthorization": {
                    "endpoint": f"{server.http_url}/broadcasting/auth",
                    "transport": "ajax",
                    "headers": {"Authorization": f"Bearer {key}"},
                }
            },
        )
        await clients[name].connected()
    await clients["pro"].subscribe(channel)
    refused = await clients["free"].subscribe(channel, expect="pusher:subscription_error")
    # pusher-js reports the endpoint's 403 as an AuthError and never sends the subscribe.
    assert refused["data"]["status"] == 403
    assert refused["data"]["type"] == "AuthError"
