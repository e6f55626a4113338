"""Limits at the front door: what a connection may cost before it has said who it is.

uvicorn's httptools protocol (0.55) sets no deadline before a request's head is complete, no
bound on the head's size (httptools joins an unfinished header value or URL with ``+=``, which is
quadratic in time as well as unbounded in memory) and no cap per client address. A few hundred
silent or half-sent connections from one address could hold every file descriptor; 200 MiB of
unfinished headers held ~230 MB; a 64 MiB unfinished URL cost seconds of CPU (issue 10, item 5).

:func:`front_door_protocol` returns a subclass of uvicorn's ``HttpToolsProtocol``, passed to
uvicorn as its ``http`` class, that adds:

- a head deadline (``header_timeout_s``) from the first byte of a request (or the accept) to the
  end of its head, answered ``408`` and closed; and a body deadline (``body_timeout_s``) from the
  end of the head to the end of the body, closed;
- a bound on the bytes of an unfinished head (``431``), on the URL (``414``) and on the number
  of header lines (``431``), checked as the bytes arrive, before the parser buffers more;
- a cap per client address on connections that have not yet sent a complete first head
  (:class:`HandshakeGate`); a connection past it must finish its head within
  ``over_cap_grace_s`` (0.5 s) or is dropped, so silent sockets cannot pile up while a burst
  of real clients, whose heads are already on the wire, still gets in.

A WebSocket upgrade leaves this class as soon as its head is complete, so the WebSocket's own
activity timeouts (Pusher protocol §3) take over from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from pusherd.config import FrontDoorLimits

__all__ = ["FrontDoorStats", "HandshakeGate", "LimitedHttpToolsProtocol", "front_door_protocol"]


#: Every reason the front door counts a refusal under: its HTTP status or what it timed out on.
REFUSAL_REASONS = ("408", "414", "431", "body_timeout", "handshakes_per_address")


class FrontDoorStats:
    """Counts of connections the front door refused, by reason (read by /metrics).

    Every reason starts at zero, so a scrape shows the series before the first refusal and an
    alert's ``rate()`` has a baseline.
    """

    __slots__ = ("by_reason",)

    def __init__(self) -> None:
        self.by_reason: dict[str, int] = dict.fromkeys(REFUSAL_REASONS, 0)

    def count(self, reason: str) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


class HandshakeGate:
    """Connections per client address that have not yet sent a complete first request head.

    Only those are capped: a client that has spoken HTTP may hold as many connections as its
    requests need, while a stranger cannot park hundreds of silent sockets.
    """

    __slots__ = ("_counts", "_max_per_address")

    def __init__(self, max_per_address: int) -> None:
        self._max_per_address = max_per_address
        self._counts: dict[str, int] = {}

    def try_enter(self, address: str) -> bool:
        """Take a slot for ``address``; False when it already holds the maximum (0: no cap)."""
        count = self._counts.get(address, 0)
        if self._max_per_address and count >= self._max_per_address:
            return False
        self._counts[address] = count + 1
        return True

    def leave(self, address: str) -> None:
        count = self._counts.get(address, 0) - 1
        if count > 0:
            self._counts[address] = count
        else:
            self._counts.pop(address, None)

    def held(self, address: str) -> int:
        return self._counts.get(address, 0)


class _HeadRefused(Exception):
    """Raised from a parser callback to stop parsing; httptools wraps it, uvicorn answers."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of :class:`FrontDoorLimits`."""

    # Set on the per-server subclass that :func:`front_door_protocol` makes.
    limits: ClassVar[FrontDoorLimits]
    gate: ClassVar[HandshakeGate]
    stats: ClassVar[FrontDoorStats]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._gate_address: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._is_in_head = True
        self._head_bytes = 0
        self._url_parts: list[bytes] = []
        self._url_bytes = 0
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None

    # -- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else None
        if address is not None and not self.gate.try_enter(address):
            # Over the cap, but not refused unread: a burst of accepts is handled before any
            # of their (already sent) heads is read, so each gets a short grace instead.
            grace_s = min(self.limits.over_cap_grace_s, self.limits.header_timeout_s)
            self._arm(grace_s, self._on_grace_expired)
            return
        self._gate_address = address
        self._arm(self.limits.header_timeout_s, self._on_head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._leave_gate()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._is_in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Checked after the feed: a head that completes within this chunk is never refused.
        if (
            self._is_in_head
            and self._head_bytes > self.limits.max_head_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(431, "Request header fields too large")

    # -- parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._is_in_head = True
        self._head_bytes = 0
        self._url_parts = []
        self._url_bytes = 0
        self._header_count = 0
        self._arm(self.limits.header_timeout_s, self._on_head_timeout)

    def on_url(self, url: bytes) -> None:
        # A list of parts, joined once: uvicorn's ``self.url += url`` is quadratic.
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            self._refusal = (414, "URI too long")
            raise _HeadRefused
        self._url_parts.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refusal = (431, "Too many header fields")
            raise _HeadRefused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.url = b"".join(self._url_parts)
        self._is_in_head = False
        self._leave_gate()
        self._arm(self.limits.body_timeout_s, self._on_body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error; a refused head gets its own status instead."""
        if self._refusal is not None:
            status, reason = self._refusal
            self._refuse(status, reason)
            return
        self._disarm()
        super().send_400_response(msg)

    # -- deadlines and refusals ------------------------------------------------------------

    def _arm(self, delay_s: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay_s, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _leave_gate(self) -> None:
        if self._gate_address is not None:
            self.gate.leave(self._gate_address)
            self._gate_address = None

    def _on_head_timeout(self) -> None:
        self._deadline = None
        if self._is_in_head and not self.transport.is_closing():
            self._refuse(408, "Request head not received in time")

    def _on_grace_expired(self) -> None:
        self._deadline = None
        if self._is_in_head and not self.transport.is_closing():
            self.stats.count("handshakes_per_address")
            self.transport.abort()

    def _on_body_timeout(self) -> None:
        # The application may be reading the body: closing tells it the client is gone.
        self._deadline = None
        if not self.transport.is_closing():
            self.stats.count("body_timeout")
            self.transport.close()

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` in JSON (like every API error) and close; the parser stops here."""
        self._disarm()
        self.stats.count(str(status))
        body = b'{"error":"' + reason.encode() + b'"}'
        self.transport.write(
            b"".join(
                (
                    STATUS_LINE[status],
                    b"content-type: application/json\r\ncontent-length: ",
                    str(len(body)).encode(),
                    b"\r\nconnection: close\r\n\r\n",
                    body,
                )
            )
        )
        self.transport.close()
        self._is_in_head = False


def front_door_protocol(
    limits: FrontDoorLimits, stats: FrontDoorStats
) -> type[LimitedHttpToolsProtocol]:
    """A protocol class for uvicorn's ``http`` setting, with its own gate and counters.

    uvicorn builds one instance per connection from a class, so the shared parts (limits, the
    gate, the counters) live on a class made per server, never in module state: two servers in
    one process share nothing.
    """

    class FrontDoorProtocol(LimitedHttpToolsProtocol):
        pass

    FrontDoorProtocol.limits = limits
    FrontDoorProtocol.gate = HandshakeGate(limits.max_handshakes_per_address)
    FrontDoorProtocol.stats = stats
    return FrontDoorProtocol
