"""The reloadable TLS context: a new pair is served by new handshakes; a bad pair is refused and
the old certificate keeps serving."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from pusherd.tls import ReloadableTls
from tests.e2e.certs import issue_leaf, make_authority


def _serial_of_context(context: ssl.SSLContext, ca: Path) -> int:
    """Handshake in memory (no socket) and return the serial the server presented."""
    from cryptography import x509

    client_ctx = ssl.create_default_context(cafile=str(ca))
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = context.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side, outgoing, incoming in ((client, c_out, s_in), (server, s_out, c_in)):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
            incoming.write(outgoing.read())
    der = client.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_reload_serves_the_new_pair_and_refuses_a_broken_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    authority = make_authority()
    ca = authority.write(tmp_path / "ca.pem")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    first = issue_leaf(authority, cert, key)
    tls = ReloadableTls(str(cert), str(key))
    assert _serial_of_context(tls.context, ca) == first
    second = issue_leaf(authority, cert, key)
    assert tls.reload()
    assert _serial_of_context(tls.context, ca) == second
    # A key that does not match the certificate: refused, the second pair keeps serving.
    issue_leaf(authority, tmp_path / "other.pem", key)
    assert not tls.reload()
    assert _serial_of_context(tls.context, ca) == second
    assert tls.reloads == 1
    assert "keeping the old certificate" in caplog.text
    assert "PRIVATE KEY" not in caplog.text
