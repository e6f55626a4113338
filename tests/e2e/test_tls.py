"""``wss://`` with pusher-js (``forceTLS: true``) against a certificate the test makes, and the
certificate reloaded on SIGHUP without dropping the open socket (issue 14, item 3)."""

from __future__ import annotations

import asyncio
import signal
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from tests.e2e.certs import issue_leaf, make_authority
from tests.e2e.node_driver import NodeDriver
from tests.e2e.nodes import node_environment, redis_prefix, start_node, stop_all
from tests.e2e.python_sdk import PythonSdk

pytestmark = pytest.mark.node


def _served_serial(port: int, ca_path: Path) -> int:
    """The serial of the certificate a new, verified handshake gets."""
    context = ssl.create_default_context(cafile=str(ca_path))
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def test_pusher_js_over_wss_and_certificate_reload_on_sighup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = make_authority()
    ca_path = authority.write(tmp_path / "ca.pem")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    first = issue_leaf(authority, cert_path, key_path)
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", str(ca_path))
    async with redis_prefix() as prefix:
        env = node_environment(tmp_path, prefix, {"PUSHERD_ADAPTER": "memory"})
        args = ["--tls-cert", str(cert_path), "--tls-key", str(key_path)]
        node = await start_node(tmp_path, env, args, name="tls", scheme="https")
        try:
            assert await asyncio.to_thread(_served_serial, node.port, ca_path) == first
            with PythonSdk.open(node) as sdk:
                async with NodeDriver.start(
                    node, python_signer=sdk.authenticate, python_user_signer=None
                ) as driver:
                    options = {"forceTLS": True, "wssPort": node.port, "wsHost": "localhost"}
                    client = await driver.pusher("c", node, options=options, signer="node")
                    await client.connected()
                    await client.subscribe("before-reload")
                    frames = driver.find(obs="frame_out", client="c")
                    assert frames, driver.describe()

                    since = driver.cursor
                    second = issue_leaf(authority, cert_path, key_path)
                    node.signal(signal.SIGHUP)
                    for _ in range(100):
                        if await asyncio.to_thread(_served_serial, node.port, ca_path) == second:
                            break
                        await asyncio.sleep(0.05)
                    assert await asyncio.to_thread(_served_serial, node.port, ca_path) == second
                    # The socket opened under the old certificate is still there and working.
                    await client.subscribe("after-reload")
                    assert driver.find(since=since, obs="closed", client="c") == []
                    state = await client.state()
                    assert state["state"] == "connected", state
                    # A new pusher-js client verifies the new certificate.
                    fresh = await driver.pusher("d", node, options=options, signer="node")
                    await fresh.connected()
            assert "reloaded" in node.log_text()
        finally:
            await stop_all([node])
