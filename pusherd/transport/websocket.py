"""The ``/app/{key}`` WebSocket: bytes in, session decisions, bytes out (reference §1–§3, §8).

uvicorn hands an upgrade request to this protocol class (its ``ws`` setting), so after the
handshake no ASGI message path sits between the socket and the fan-out: a delivery is one
``transport.write`` of bytes shared by every subscriber (house style §4). The handshake itself is
parsed and answered by the ``websockets`` library's sans-I/O server; frames after it are read by
our :class:`~pusherd.protocol.wsframes.FrameReader`, which keeps a connection small.

Frames of one socket are handled in order. A subscribe or unsubscribe waits for the adapter, so
while one is in flight later frames of that socket queue behind it (bounded).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, cast

from websockets.http11 import Request
from websockets.server import ServerProtocol

from pusherd.config import AppConfig
from pusherd.protocol.channels import ChannelKind, classify_channel
from pusherd.protocol.errors import CloseCode, ConnectionRefused, PusherError
from pusherd.protocol.frames import PING_FRAME, connection_established_frame, parse_client_frame
from pusherd.protocol.session import Join, Leave, Relay, Reply, Session, SignIn
from pusherd.protocol.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    WebSocketProtocolError,
    close_frame,
    control_frame,
    parse_close_payload,
    text_frame,
)
from pusherd.transport.deflate import DeflateParams
from pusherd.transport.endpoint import WebSocketEndpoint
from pusherd.transport.handshake import (
    accept_response,
    app_key_and_query,
    parse_plain_upgrade,
    protocol_error,
    query_value,
)

__all__ = ["ENDPOINT_STATE_KEY", "PusherWebSocketProtocol"]

logger = logging.getLogger("pusherd.transport.websocket")

#: Key of the :class:`WebSocketEndpoint` in the lifespan state uvicorn passes to this class.
ENDPOINT_STATE_KEY = "pusherd.websocket_endpoint"
#: Bytes of one socket's frames allowed to queue behind a pending subscribe. pusher-js sends
#: every subscribe at once after a reconnect, so this is sized for hundreds of channels.
MAX_BACKLOG_BYTES = 1024 * 1024
#: How long to wait for the client's close frame before dropping the TCP connection.
CLOSE_TIMEOUT_S = 2.0
_PING_CONTROL = control_frame(OP_PING)
_PUSHER_PING = text_frame(PING_FRAME)
_TERMINATED = ConnectionRefused(CloseCode.UNAUTHORIZED, "Connection terminated by the app")
_NOT_AUTHORIZED = ConnectionRefused(
    CloseCode.UNAUTHORIZED, "Connection not authorized within timeout"
)
_AUTHORIZING_KINDS = (ChannelKind.PRIVATE, ChannelKind.PRESENCE, ChannelKind.ENCRYPTED)
_PONG_TIMEOUT = ConnectionRefused(CloseCode.PONG_NOT_RECEIVED, "Pong reply not received")
_INTERNAL_ERROR = text_frame(
    b'{"event":"pusher:error","data":{"code":null,"message":"Internal server error"}}'
)


def _is_utf8(payload: bytes) -> bool:
    try:
        payload.decode()
    except UnicodeDecodeError:
        return False
    return True


class PusherWebSocketProtocol(asyncio.Protocol):
    """One client socket, from the upgrade request to the close."""

    __slots__ = (
        "_backlog",
        "_backlog_bytes",
        "_close_timer",
        "_deflate",
        "_handshake",
        "_is_upgrading",
        "_pending",
        "_reader",
        "_server_state",
        "app",
        "endpoint",
        "established_at",
        "is_closing",
        "last_seen",
        "ping_sent_at",
        "session",
        "socket_id",
        "transport",
    )

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.endpoint: WebSocketEndpoint = app_state[ENDPOINT_STATE_KEY]
        self._server_state = server_state
        self.transport: asyncio.Transport | None = None
        # Built only for a request the plain-upgrade parser leaves to websockets.
        self._handshake: ServerProtocol | None = None
        self._is_upgrading = True
        self._reader: FrameReader | None = None
        self.session: Session | None = None
        self.app: AppConfig | None = None
        self.socket_id = ""
        self.is_closing = False
        self.last_seen = 0.0
        self.established_at = 0.0
        self.ping_sent_at = 0.0
        self._pending: asyncio.Task[None] | None = None
        self._backlog: deque[bytes] | None = None
        self._backlog_bytes = 0
        self._close_timer: asyncio.TimerHandle | None = None
        self._deflate: DeflateParams | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self._server_state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            reader = self._reader
            if reader is None:
                if self._is_upgrading:
                    self._on_handshake_data(data)
                return
            self.last_seen = self.endpoint.clock.monotonic()
            self.ping_sent_at = 0.0
            try:
                messages = reader.feed(data)
            except WebSocketProtocolError as exc:
                self._close(exc.close_code, exc.reason)
                return
            for opcode, payload in messages:
                if opcode == OP_TEXT:
                    if not self.is_closing:
                        self._on_message(payload)
                elif opcode == OP_PING:
                    self.deliver(control_frame(OP_PONG, payload))
                elif opcode == OP_CLOSE:
                    self._on_close_frame(payload)
                    return
                elif opcode == OP_BINARY:
                    # Binary frames are not part of the Pusher protocol (reference §1.1): RFC
                    # 6455 §7.4.1 1003, "a type of data it cannot accept", not a guess at JSON.
                    self._close(1003, "binary frames are not supported")
        except Exception:
            # Our bug, not the client's: log it once, and end this socket rather than leave the
            # event loop to drop it with a "Fatal error on transport".
            logger.exception("handling received bytes failed")
            if self._reader is None:
                self._drop(graceful=False)
            else:
                self._close(1011, "Internal error")

    def connection_lost(self, exc: Exception | None) -> None:
        self._server_state.connections.discard(self)
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self.is_closing = True
        self._reader = None
        self._handshake = None
        self._is_upgrading = False
        app, session = self.app, self.session
        if app is None or session is None:
            return
        self.endpoint.unregister(self, app.app_id)
        if session.channels or self._pending is not None:
            task = asyncio.get_running_loop().create_task(self._leave_all())
            self.endpoint.run_in_background(task)

    def shutdown(self) -> None:
        """Called by uvicorn on server shutdown: tell pusher-js to reconnect at once (4200)."""
        if self._reader is not None:
            self.refuse(ConnectionRefused(CloseCode.RECONNECT, "Generic reconnect immediately"))
        elif self.transport is not None and not self.is_closing:
            self.transport.close()

    # -- the fan-out seam (adapters.base.Subscriber) ----------------------------------------

    def deliver(self, ws_frame: bytes) -> None:
        """Write one frame: fan-out and this socket's own replies alike, so a client that
        sends but never reads is bounded by the same ``max_pending_bytes``."""
        if self.is_closing:
            return
        transport = self.transport
        assert transport is not None
        deflate = self._deflate
        if deflate is not None and len(ws_frame) >= deflate.min_frame_bytes:
            deflater = self.endpoint.deflater
            if ws_frame is deflater.last_plain and deflate.window_bits == deflater.last_bits:
                ws_frame = deflater.last_frame  # the fan-out's 2nd..nth subscriber
            elif ws_frame[0] == 0x81:
                ws_frame = deflater.frame(ws_frame, deflate.window_bits)
        transport.write(ws_frame)
        if transport.get_write_buffer_size() > self.endpoint.settings.max_pending_bytes:
            # A reader this far behind would only grow our memory: reconnecting gives it a
            # fresh start, and nobody else waited for it.
            logger.warning("dropping slow consumer %s", self.socket_id)
            self.endpoint.slow_consumers_dropped += 1
            self.refuse(ConnectionRefused(CloseCode.RECONNECT, "Too far behind; reconnect"))

    def terminate(self) -> None:
        """The app terminated this socket's user: 4009 keeps pusher-js from reconnecting (§13.4)."""
        self.refuse(_TERMINATED)

    def send(self, payload: bytes) -> None:
        self.deliver(text_frame(payload))

    def _is_authorized(self) -> bool:
        """Signed in, or holding a private or presence channel (authorized connections, §13.5)."""
        session = self.session
        if session is None:
            return False
        if session.user_id is not None:
            return True
        for channel in session.channels:
            channel_type = classify_channel(channel, 200)
            if channel_type is not None and channel_type.kind in _AUTHORIZING_KINDS:
                return True
        return False

    def check_liveness(self, now: float) -> None:
        """Ping a silent socket after ``activity_timeout``; close 4201 if the pong never comes.

        Apps that require authorization also close, with 4009, sockets that neither signed in
        nor joined a private or presence channel within their grace period (§13.5).
        """
        app = self.app
        if self.is_closing or app is None:
            return
        grace_s = app.user_authentication_timeout_s
        if grace_s is not None and now - self.established_at >= grace_s:
            if not self._is_authorized():
                self.refuse(_NOT_AUTHORIZED)
                return
        if self.ping_sent_at:
            if now - self.ping_sent_at >= self.endpoint.settings.pong_timeout_s:
                self.refuse(_PONG_TIMEOUT)
        elif now - self.last_seen >= app.activity_timeout_s:
            self.ping_sent_at = now
            self._write(_PING_CONTROL)
            self._write(_PUSHER_PING)

    # -- handshake --------------------------------------------------------------------------

    def _app_prefix(self) -> str:
        return self.endpoint.settings.path_prefix + "/app/"

    def _on_handshake_data(self, data: bytes) -> None:
        handshake = self._handshake
        if handshake is None:
            upgrade = parse_plain_upgrade(data)
            found = (
                None if upgrade is None else app_key_and_query(upgrade.target, self._app_prefix())
            )
            if upgrade is not None and found is not None:
                self._is_upgrading = False
                app = self.endpoint.apps_by_key.get(found[0])
                if app is not None and upgrade.extensions is not None:
                    self._deflate = self.endpoint.negotiate_deflate(app, upgrade.extensions)
                offer = None if self._deflate is None else self._deflate.response
                # The 101 goes out in the same write as the first frame: one syscall.
                response = accept_response(upgrade, self.endpoint.http_date(), offer)
                self._open(found[0], found[1], upgrade.origin, response)
                return
            handshake = self._handshake = ServerProtocol(
                max_size=self.endpoint.settings.max_ws_frame_bytes
            )
        handshake.receive_data(data)
        events = handshake.events_received()
        if not events:
            if handshake.handshake_exc is not None:
                self._flush_handshake(handshake)
                self._drop()
            return
        request = events[0]
        assert isinstance(request, Request)
        found = app_key_and_query(request.path, self._app_prefix())
        if found is None:
            handshake.send_response(handshake.reject(404, "Path not found\n"))
            self._flush_handshake(handshake)
            self._drop()
            return
        answer = handshake.accept(request)
        handshake.send_response(answer)
        self._flush_handshake(handshake)
        self._handshake = None
        self._is_upgrading = False
        if answer.status_code != 101:
            self._drop()
            return
        self._open(found[0], found[1], request.headers.get("Origin"), b"")

    def _open(self, key: str, query_string: str, origin: str | None, response: bytes) -> None:
        """The socket is a WebSocket now: check version and app (§1.2), then establish.

        ``response`` is the 101 not yet written (empty when already written).
        """
        self._reader = FrameReader(
            self.endpoint.settings.max_ws_frame_bytes, is_deflate=self._deflate is not None
        )
        self.last_seen = self.endpoint.clock.monotonic()
        version = query_value(query_string, "protocol")
        refusal = protocol_error(version) or self._app_refusal(key, origin)
        if refusal is not None:
            self._write(response)
            self.refuse(refusal)
            return
        self._establish(response)

    def _app_refusal(self, key: str, origin: str | None) -> ConnectionRefused | None:
        app = self.endpoint.apps_by_key.get(key)
        if app is None:
            return ConnectionRefused(CloseCode.APP_NOT_FOUND, "Application does not exist")
        if not app.enabled:
            return ConnectionRefused(CloseCode.APP_DISABLED, "Application disabled")
        if not app.is_origin_allowed(origin):
            return ConnectionRefused(CloseCode.UNAUTHORIZED, "Origin not allowed")
        cap = app.max_connections
        if cap is not None and self.endpoint.connections_per_app[app.app_id] >= cap:
            return ConnectionRefused(CloseCode.OVER_QUOTA, "Application is over connection quota")
        self.app = app
        return None

    def _establish(self, response: bytes) -> None:
        app = self.app
        assert app is not None
        self.socket_id = self.endpoint.new_socket_id()
        self.session = Session(
            socket_id=self.socket_id,
            app_key=app.key,
            app_secret=app.secret.reveal(),
            limits=self.endpoint.limits_by_app[app.app_id],
        )
        self.established_at = self.last_seen
        self.endpoint.register(self, app.app_id)
        self._write(
            response
            + text_frame(connection_established_frame(self.socket_id, app.activity_timeout_s))
        )

    def _flush_handshake(self, handshake: ServerProtocol) -> None:
        for chunk in handshake.data_to_send():
            if chunk:
                self._write(chunk)

    # -- messages ---------------------------------------------------------------------------

    def _on_message(self, payload: bytes) -> None:
        backlog = self._backlog
        if backlog is not None:
            self._backlog_bytes += len(payload)
            if self._backlog_bytes > MAX_BACKLOG_BYTES:
                self.refuse(ConnectionRefused(CloseCode.RECONNECT, "Too many pending messages"))
                return
            backlog.append(payload)
            return
        self._process(payload)

    def _process(self, payload: bytes) -> None:
        session = self.session
        assert session is not None
        try:
            frame = parse_client_frame(payload)
        except PusherError as exc:
            # orjson reads only UTF-8, so a text message that is not UTF-8 ends up here, and
            # only here is it worth checking: RFC 6455 §8.1 fails the connection with 1007.
            if not _is_utf8(payload):
                self._close(1007, "text frame is not UTF-8")
            else:
                self.deliver(text_frame(exc.to_frame()))
            return
        try:
            # The time the bytes arrived, as data_received recorded it: one clock read a read.
            command = session.receive(frame, self.last_seen)
        except PusherError as exc:
            self.deliver(text_frame(exc.to_frame()))
            return
        if command is None:
            return
        app = self.app
        assert app is not None
        actions = self.endpoint.actions
        if type(command) is Relay:
            actions.relay(app, self, command)
            return
        if type(command) is Reply:
            self.deliver(text_frame(command.frame))
            return
        # Joins, leaves and signins wait for the adapter; frames arriving meanwhile queue behind.
        self._backlog = deque()
        self._backlog_bytes = 0
        if type(command) is Join:
            coroutine = actions.join(app, session, self, command)
        elif type(command) is Leave:
            coroutine = actions.leave(app, session, self, command.channel)
        else:
            assert type(command) is SignIn
            coroutine = actions.signin(app, session, self, command)
        task = asyncio.get_running_loop().create_task(coroutine)
        self._pending = task
        task.add_done_callback(self._on_applied)

    def _on_applied(self, task: asyncio.Task[None]) -> None:
        self._pending = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("handling a frame failed", exc_info=task.exception())
            self._write(_INTERNAL_ERROR)
        backlog, self._backlog = self._backlog, None
        while backlog and not self.is_closing:
            if self._backlog is not None:
                # A queued frame started another wait: the rest keep their order behind it.
                self._backlog.extend(backlog)
                return
            self._process(backlog.popleft())

    async def _leave_all(self) -> None:
        pending = self._pending
        if pending is not None:
            # A subscribe in flight must finish first, or its channel would never be left.
            await asyncio.wait({pending})
        session = self.session
        assert session is not None
        app = self.app
        assert app is not None
        for channel in tuple(session.channels):
            await self.endpoint.actions.leave(app, session, self, channel)

    # -- closing ----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def refuse(self, error: ConnectionRefused) -> None:
        """``pusher:error`` with the code, then a close frame with the same code (§3.2)."""
        if self.is_closing:
            return
        self._write(text_frame(error.to_frame()))
        self._close(error.code, error.message)

    def _close(self, code: int, reason: str) -> None:
        if self.is_closing:
            return
        self.is_closing = True
        self._write(close_frame(code, reason))
        loop = asyncio.get_running_loop()
        self._close_timer = loop.call_later(CLOSE_TIMEOUT_S, self._drop, False)

    def _on_close_frame(self, payload: bytes) -> None:
        if not self.is_closing:
            try:
                code, _ = parse_close_payload(payload)
            except WebSocketProtocolError as exc:
                # A code no peer may send (1005, 1006, 1015, ≥ 5000…) is never echoed (§7.4).
                reply = close_frame(exc.close_code, exc.reason)
            else:
                # Echo the client's code, as RFC 6455 §5.5.1 asks; 1005 means "none given".
                reply = close_frame(1000 if code == 1005 else code)
            self.is_closing = True
            self._write(reply)
        self._drop(graceful=True)

    def _drop(self, graceful: bool = True) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if graceful:
            transport.close()
        else:
            transport.abort()
