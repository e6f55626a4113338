"""The Redis adapter: many pusherd nodes (or one per core) behind one set of channels.

Each node keeps its own sockets in a :class:`~pusherd.adapters.local.LocalAdapter` (the local
index, fan-out and terminate are that adapter's); this one adds only what must be shared:

* **events** and terminate requests cross on one stream, ``{prefix}events``, read by every node
  the sender included (:mod:`pusherd.adapters.redis_bus`);
* **counts and presence**: per-node counts in hashes, changed atomically by Lua scripts
  (:mod:`pusherd.adapters.redis_membership`), so occupancy and first/last member transitions
  are decided once for the whole cluster; the queries sum them (``redis_queries``);
* **liveness and repair**: each node refreshes its score in ``{prefix}nodes``; one survivor
  withdraws a node silent for ``node_timeout_s`` and reports what its sockets' departure
  caused; a failed write, a Redis restart or this node being declared dead re-asserts this
  node's state (:mod:`pusherd.adapters.redis_repair`);
* **cache channels** in ``{prefix}{app}:cache:{channel}`` with the TTL as Redis expiry.

Writes that need no answer leave through a bounded outbox and every call survives one dead
pooled connection (:mod:`pusherd.adapters.redis_link`), so ``publish`` never waits on the
network and a Redis restart never reaches a client as an error.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis

from pusherd.adapters.base import (
    AdapterCounters,
    CachedEvent,
    ChannelStats,
    JoinResult,
    LeaveResult,
    MembershipListener,
    Subscriber,
    is_cache_channel,
)
from pusherd.adapters.local import LocalAdapter
from pusherd.adapters.redis_bus import TERMINATE_FIELD, EventStream
from pusherd.adapters.redis_ledger import ChannelLocks, PresenceLedger
from pusherd.adapters.redis_link import FAILURES, Outbox, keep_running, once_more, stop_tasks
from pusherd.adapters.redis_membership import SharedMembership
from pusherd.adapters.redis_queries import SharedState
from pusherd.adapters.redis_repair import Repairer
from pusherd.adapters.redis_scripts import RedisKeys
from pusherd.clock import Clock
from pusherd.protocol.bus import BUS_FIELD, encode_bus_message
from pusherd.protocol.session import Member
from pusherd.state.consequences import Transition, consequences_of

__all__ = ["RedisAdapter"]

logger = logging.getLogger("pusherd.adapters.redis")

T = TypeVar("T")


class RedisAdapter:
    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        prefix: str,
        node_id: str,
        clock: Clock,
        rng: random.Random,
        heartbeat_s: float = 5.0,
        node_timeout_s: float = 30.0,
        max_outbox: int = 100_000,
        max_repair_channels: int = 10_000,
        reconnect_max_s: float = 1.0,
    ) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)
        self.node_id = node_id
        self._clock = clock
        self._rng = rng
        self._heartbeat_s = heartbeat_s
        self._node_timeout_s = node_timeout_s
        self._reconnect_max_s = reconnect_max_s
        self._local = LocalAdapter(clock=clock)
        self._ledger = PresenceLedger()
        self._locks = ChannelLocks()
        self._repair = Repairer(
            redis=redis,
            keys=self._keys,
            node_id=node_id,
            locks=self._locks,
            ledger=self._ledger,
            local_channels=self._local.held_channels,
            local_count=self._local.subscriber_count,
            report=lambda change: self._listener(change),
            announce_delay_s=2 * reconnect_max_s,
            max_pending_channels=max_repair_channels,
        )
        self._outbox = Outbox(redis, max_outbox)
        self._shared = SharedState(redis=redis, keys=self._keys, clock=clock, retry=self._retry)
        self._shared_members = SharedMembership(
            redis=redis, keys=self._keys, node_id=node_id, retry=self._retry
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._events = EventStream(redis=redis, prefix=prefix, local=self._local)
        self.is_listening = self._events.is_listening
        self._listener: MembershipListener = self._publish_frames

    def counters(self) -> AdapterCounters:
        return AdapterCounters(self._outbox.dropped, self._repair.queue.overflows)

    def watch_membership(self, listener: MembershipListener) -> None:
        self._listener = listener

    def _publish_frames(self, transition: Transition) -> None:
        """Until someone watches: the frames alone (no webhooks without a webhook sink)."""
        consequences = consequences_of(transition)
        for frame in consequences.frames:
            self.publish(
                transition.app_id, transition.channel, frame, consequences.except_socket_id
            )

    async def start(self) -> None:
        self._shared_members.register()
        self._repair.register()
        await self._heartbeat()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._guard(self._events.listen)),
            loop.create_task(self._guard(self._outbox.drain_forever)),
            loop.create_task(self._guard(self._keep_alive)),
        ]

    async def stop(self) -> None:
        """Flush the outbox (bounded), withdraw this node's counts, stop the tasks."""
        await self._outbox.flush(1.0)
        self._events.is_closed = True
        await stop_tasks(self._tasks)
        self._tasks = []
        self._repair.close()
        try:
            await self._repair.clean_node(self.node_id)
        except FAILURES as exc:
            logger.warning("could not withdraw node %s from Redis: %s", self.node_id, exc)

    def publish(
        self,
        app_id: str,
        channel: str,
        payload: bytes,
        except_socket_id: str | None = None,
        *,
        cache_ttl_s: float | None = None,
    ) -> None:
        """Append the event to the cluster's stream; every node (this one too) delivers it to
        its sockets when it reads it back. The cache is written here, once for the cluster."""
        outbox = self._outbox
        if cache_ttl_s is not None and is_cache_channel(channel):
            key = self._keys.channel(app_id, "cache", channel).encode()
            outbox.add((b"", key, payload, max(1, int(cache_ttl_s * 1000))))
        envelope = encode_bus_message(app_id, channel, payload, except_socket_id)
        outbox.add((BUS_FIELD, self._events.stream, envelope, 0))

    def terminate_user(self, app_id: str, user_id: str) -> None:
        request = orjson.dumps({"app": app_id, "user": user_id})
        self._outbox.add((TERMINATE_FIELD, self._events.stream, request, 0))

    def terminate_channel(self, app_id: str, channel: str) -> None:
        """Like :meth:`terminate_user`, on the same stream, for an internal (``#``) channel:
        every node, this one too, closes its sockets on it when it reads the request back."""
        request = orjson.dumps({"app": app_id, "channel": channel})
        self._outbox.add((TERMINATE_FIELD, self._events.stream, request, 0))

    async def _retry(self, call: Callable[[], Awaitable[T]]) -> T:
        """One Redis call, once more on a fresh connection; a write retried this way may have
        run twice, so the repair is told to check."""
        return await once_more(self._redis, call, self._repair.suspect)

    async def join(
        self,
        app_id: str,
        channel: str,
        subscriber: Subscriber,
        member: Member | None,
        *,
        max_presence_members: int,
    ) -> JoinResult:
        if self._local.is_subscribed(app_id, channel, subscriber.socket_id):
            stats = await self.channel_stats(app_id, channel)
            members = await self.members(app_id, channel) if member is not None else None
            return JoinResult(members=members, subscription_count=stats.subscription_count)
        async with self._locks.hold(app_id, channel):
            try:
                return await self._join_locked(
                    app_id, channel, subscriber, member, max_presence_members
                )
            except FAILURES:
                # Some of the scripts may have run: re-assert what this node holds.
                self._repair.failed(app_id, channel)
                raise

    async def _join_locked(
        self,
        app_id: str,
        channel: str,
        subscriber: Subscriber,
        member: Member | None,
        max_presence_members: int,
    ) -> JoinResult:
        outcome, total = await self._shared_members.join(
            app_id, channel, member, max_presence_members
        )
        if outcome < 0:
            return JoinResult(is_refused_full=True)
        members = await self.members(app_id, channel) if member is not None else None
        # Only now does the socket take deliveries: the caller sends subscription_succeeded
        # before anything else can run, so no event overtakes it (a member_added from another
        # node for someone already in ``members`` would otherwise arrive first, §6.3).
        await self._local.join(app_id, channel, subscriber, None, max_presence_members=1)
        if member is not None:
            info_json = orjson.dumps(member.user_info).decode()
            self._ledger.add(app_id, channel, member.user_id, info_json, subscriber.socket_id)
        return JoinResult(
            is_channel_occupied=total == 1,
            is_member_added=outcome == 1,
            members=members,
            subscription_count=total,
        )

    async def leave(
        self, app_id: str, channel: str, socket_id: str, member: Member | None
    ) -> LeaveResult:
        async with self._locks.hold(app_id, channel):
            # The socket leaves this node at once, whatever Redis says: it is gone.
            local = await self._local.leave(app_id, channel, socket_id, None)
            if not local.was_subscribed:
                return LeaveResult()
            is_last_local = member is not None and self._ledger.remove(
                app_id, channel, member.user_id, socket_id
            )
            try:
                return await self._shared_members.leave(app_id, channel, member)
            except FAILURES as exc:
                logger.warning(
                    "Redis failed a leave (%s); node %s re-asserts the channel when it can",
                    exc,
                    self.node_id,
                )
                gone = member.user_id if member is not None and is_last_local else None
                self._repair.failed(app_id, channel, gone)
                count = self._local.subscriber_count(app_id, channel)
                return LeaveResult(was_subscribed=True, subscription_count=count)

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return await self._shared.channel_stats(app_id, channel)

    async def channels(self, app_id: str, prefix: str) -> dict[str, ChannelStats]:
        return await self._shared.channels(app_id, prefix)

    async def members(self, app_id: str, channel: str) -> dict[str, Any]:
        return await self._shared.members(app_id, channel)

    async def cached_event(self, app_id: str, channel: str) -> CachedEvent | None:
        return await self._shared.cached_event(app_id, channel)

    async def _guard(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` forever; after a lost connection the repair checks Redis at once (the
        listener is the first to see a restart)."""

        def on_failure() -> None:
            self.is_listening.clear()
            self._repair.suspect()

        await keep_running(
            work, rng=self._rng, max_delay_s=self._reconnect_max_s, on_failure=on_failure
        )

    async def _heartbeat(self) -> None:
        """Refresh this node's liveness; re-assert its channels if Redis lost them."""
        await self._repair.beat(self._clock.time())

    async def _keep_alive(self) -> None:
        while True:
            await self._heartbeat()
            await self.clean_dead_nodes()
            await self._repair.wait(self._heartbeat_s)

    async def clean_dead_nodes(self) -> list[str]:
        """Withdraw nodes silent for ``node_timeout_s``; returns the ids cleaned."""
        return await self._repair.clean_dead_nodes(self._clock.time(), self._node_timeout_s)
