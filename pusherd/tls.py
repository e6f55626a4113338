"""TLS for ``wss://`` and ``https://`` without a proxy, reloadable on SIGHUP (issue 14, item 3).

One :class:`ssl.SSLContext` serves every listening socket; :meth:`ReloadableTls.reload` loads
the new certificate chain *into that same context*, so connections already open keep theirs
and every handshake after the reload gets the new one — certbot's renew hook is
``systemctl reload pusherd`` (SIGHUP), and no client is dropped.

A new pair is first loaded into a scratch context: a half-written file or a key that does not
match leaves the old certificate serving, and the error is logged (without file contents).
"""

from __future__ import annotations

import logging
import ssl

__all__ = ["ReloadableTls"]

logger = logging.getLogger("pusherd.tls")


def _server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # HTTP/1.1 only: the WebSocket upgrade does not exist in HTTP/2 without RFC 8441.
    context.set_alpn_protocols(["http/1.1"])
    return context


class ReloadableTls:
    def __init__(self, cert_path: str, key_path: str) -> None:
        self.cert_path = cert_path
        self.key_path = key_path
        self.context = _server_context()
        self.context.load_cert_chain(cert_path, key_path)
        self.reloads = 0

    def reload(self) -> bool:
        """Load the files again; False (and the old certificate kept) when they do not load."""
        try:
            _server_context().load_cert_chain(self.cert_path, self.key_path)
        except (OSError, ssl.SSLError) as exc:
            logger.error("TLS reload failed, keeping the old certificate: %s", type(exc).__name__)
            return False
        self.context.load_cert_chain(self.cert_path, self.key_path)
        self.reloads += 1
        logger.info("TLS certificate reloaded from %s", self.cert_path)
        return True
