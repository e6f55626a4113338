"""Hand-over on SIGTERM (issue 14, item 6): leave a node without its clients noticing.

On SIGTERM, :class:`HandoverServer` (uvicorn's ``Server`` with a longer ``shutdown``):

1. marks the node not ready (``/ready`` answers 503 ``draining``) and stops accepting;
2. tells every Pusher client to reconnect — ``pusher:error`` 4200 then close 4200, which
   pusher-js answers by reconnecting at once (through the load balancer, to another node) —
   spread evenly over ``window_s`` so the other nodes see a ramp, not a thundering herd;
3. then runs uvicorn's own shutdown: the lifespan ends, which flushes the webhook outbox.

Presence is left cleanly by :class:`GracefulLeaves`: while draining, a presence member's leave
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
from typing import Any

import uvicorn

from pusherd.adapters.base import (
    Adapter,
    CachedEvent,
    ChannelStats,
    JoinResult,
    LeaveResult,
    Subscriber,
)
from pusherd.protocol.session import Member
from pusherd.readiness import Readiness
from pusherd.transport.websocket import PusherWebSocketProtocol

__all__ = ["GracefulLeaves", "HandoverServer", "reconnect_schedule"]

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


class GracefulLeaves:
    """The adapter the sockets use, whose presence leaves wait ``grace_s`` while draining."""

    def __init__(self, inner: Adapter, *, readiness: Readiness, grace_s: float) -> None:
        self.inner = inner
        self.readiness = readiness
        self.grace_s = grace_s

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    def publish(
        self,
        app_id: str,
        channel: str,
        payload: bytes,
        except_socket_id: str | None = None,
        *,
        cache_ttl_s: float | None = None,
        local_only: bool = False,
    ) -> None:
        self.inner.publish(
            app_id,
            channel,
            payload,
            except_socket_id,
            cache_ttl_s=cache_ttl_s,
            local_only=local_only,
        )

    async def join(
        self,
        app_id: str,
        channel: str,
        subscriber: Subscriber,
        member: Member | None,
        *,
        max_presence_members: int,
    ) -> JoinResult:
        return await self.inner.join(
            app_id, channel, subscriber, member, max_presence_members=max_presence_members
        )

    async def leave(
        self, app_id: str, channel: str, socket_id: str, member: Member | None
    ) -> LeaveResult:
        if member is not None and self.readiness.is_draining:
            # The grace runs from the end of the spread, not from this socket's close: under
            # load the first clients to move may take longer than the grace to join again.
            now = asyncio.get_running_loop().time()
            await asyncio.sleep(max(now, self.readiness.handover_ends_at) + self.grace_s - now)
        return await self.inner.leave(app_id, channel, socket_id, member)

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return await self.inner.channel_stats(app_id, channel)

    async def channels(self, app_id: str, prefix: str) -> dict[str, ChannelStats]:
        return await self.inner.channels(app_id, prefix)

    async def members(self, app_id: str, channel: str) -> dict[str, Any]:
        return await self.inner.members(app_id, channel)

    async def cached_event(self, app_id: str, channel: str) -> CachedEvent | None:
        return await self.inner.cached_event(app_id, channel)

    def terminate_user(self, app_id: str, user_id: str) -> None:
        self.inner.terminate_user(app_id, user_id)

    def terminate_channel(self, app_id: str, channel: str) -> None:
        self.inner.terminate_channel(app_id, channel)
