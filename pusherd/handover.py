"""Hand-over on SIGTERM (issue 14, item 6): leave a node without its clients noticing.

On SIGTERM, :class:`HandoverServer` (uvicorn's ``Server`` with a longer ``shutdown``):

1. marks the node not ready (``/ready`` answers 503 ``draining``) and stops accepting;
2. tells every Pusher client to reconnect — ``pusher:error`` 4200 then close 4200, which
   pusher-js answers by reconnecting at once (through the load balancer, to another node) —
   spread evenly over ``window_s`` so the other nodes see a ramp, not a thundering herd;
3. then runs uvicorn's own shutdown: the lifespan ends, which flushes the webhook outbox.

Presence is left cleanly by :func:`presence_leave_grace`: while draining, a presence member's leave
waits until ``grace_s`` (the 3 s the webhooks also debounce by) after the end of the spread
before reaching the adapter. By then the client has reconnected to another node and re-joined,
so with the Redis adapter the user still has a socket in the cluster: nobody sees
``member_removed``, and a user who really left gets exactly one, after the grace.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

from pusherd.readiness import Readiness
from pusherd.transport.websocket import PusherWebSocketProtocol

__all__ = ["HandoverServer", "presence_leave_grace", "reconnect_schedule"]

logger = logging.getLogger("pusherd.handover")

#: How often the spread re-checks its schedule.
_TICK_S = 0.05


def reconnect_schedule(total: int, window_s: float, elapsed_s: float) -> int:
    """How many of ``total`` sockets should have been told to reconnect ``elapsed_s`` into a
    ``window_s`` window: a straight ramp, so the other nodes take the load evenly."""
    if total <= 0:
        return 0
    if window_s <= 0 or elapsed_s >= window_s:
        return total
    return min(total, math.ceil(total * elapsed_s / window_s))


class HandoverServer(uvicorn.Server):
    """uvicorn's server whose shutdown hands clients over before the lifespan ends."""

    def __init__(self, config: uvicorn.Config, *, readiness: Readiness, window_s: float) -> None:
        super().__init__(config)
        self.readiness = readiness
        self.window_s = window_s
        #: Sockets told to reconnect by the last hand-over (read by tests and the log).
        self.handed_over = 0

    def handle_exit(self, sig: int, frame: Any) -> None:
        # Not ready from the very signal, before the main loop's next tick notices it.
        self.readiness.is_draining = True
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.readiness.is_draining = True
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        await self._hand_over()
        await super().shutdown(sockets)
        # uvicorn re-raises the signal once it has stopped, so the process would end "killed
        # by SIGTERM"; a completed hand-over is a clean exit, status 0.
        self._captured_signals.clear()

    async def _hand_over(self) -> None:
        pusher_sockets: list[PusherWebSocketProtocol] = []
        for connection in list(self.server_state.connections):
            if isinstance(connection, PusherWebSocketProtocol):
                pusher_sockets.append(connection)
            else:
                connection.shutdown()  # HTTP: idle keep-alives close now, requests finish
        total = len(pusher_sockets)
        logger.info("handing over %d socket(s) over %.1fs", total, self.window_s)
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.readiness.handover_ends_at = started + self.window_s
        done = 0
        while done < total:
            due = reconnect_schedule(total, self.window_s, loop.time() - started)
            for pusher_socket in pusher_sockets[done:due]:
                pusher_socket.shutdown()
            done = max(done, due)
            if done < total:
                await asyncio.sleep(_TICK_S)
        self.handed_over = total


def presence_leave_grace(
    readiness: Readiness, grace_s: float
) -> Callable[[], Coroutine[Any, Any, None]]:
    """What a presence member's leave awaits before it reaches the adapter
    (:class:`~pusherd.transport.actions.ChannelActions`): nothing normally; while draining,
    until ``grace_s`` after the end of the spread.

    The grace runs from the end of the spread, not from this socket's close: under load the
    first clients to move may take longer than the grace to join again. Joins, queries, the
    dead-node clean-up and the repair never wait: only this node's own sockets' leaves do.
    """

    async def wait() -> None:
        if readiness.is_draining:
            now = asyncio.get_running_loop().time()
            await asyncio.sleep(max(now, readiness.handover_ends_at) + grace_s - now)

    return wait
