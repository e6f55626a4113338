"""The Redis adapter: many pusherd nodes (or one per core) behind one set of channels.

Each node keeps its own sockets in memory and fans out to them exactly as the local adapter
does. What must be shared goes through Redis:

* **events**: published once as a bus envelope on the ``{prefix}cluster`` pub/sub channel; every
  other node delivers it to its own sockets (the origin node already has, so it skips its own
  envelope). Events from outside pusherd (the poller) arrive on the bus stream instead, which
  every node reads for itself (:mod:`pusherd.redis_feed`);
* **counts and presence**: per-node counts in hashes, changed atomically by the Lua scripts of
  :mod:`pusherd.adapters.redis_scripts`, so occupancy and first/last member transitions are
  decided once for the whole cluster;
* **liveness**: each node refreshes its score in ``{prefix}nodes``; a node silent for
  ``node_timeout_s`` is presumed dead and any live node subtracts its counts and announces
  the members that left with it;
* **cache channels** in ``{prefix}{app}:cache:{channel}`` with the TTL as Redis expiry;
* **terminate** requests on ``{prefix}control``.

Writes that need no answer (event publishes, cache writes) leave through an outbox drained by
one task, so ``publish`` stays synchronous and never waits on the network (house style §4); while
Redis is unreachable they wait there (bounded: past ``max_outbox`` the oldest are dropped,
counted in ``dropped_writes`` and logged).

Redis failures do not leave the shared counts wrong for good: a join or leave whose scripts
failed marks its channel for repair, and a Redis restart or this node being declared dead
re-asserts all of its channels (:mod:`pusherd.adapters.redis_repair`). A broken pooled
connection (Redis restarted since it was used) is retried once on a fresh one, so a client
never sees it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from pusherd.adapters.base import (
    CachedEvent,
    ChannelStats,
    JoinResult,
    LeaveResult,
    MembershipListener,
    Subscriber,
    is_cache_channel,
    is_presence_channel,
    user_channel,
)
from pusherd.adapters.local import fan_out
from pusherd.adapters.redis_ledger import ChannelLocks, PresenceLedger
from pusherd.adapters.redis_repair import Repairer
from pusherd.adapters.redis_scripts import (
    JOIN_CHANNEL,
    JOIN_PRESENCE,
    LEAVE_CHANNEL,
    LEAVE_PRESENCE,
    RedisKeys,
    text_reply,
)
from pusherd.clock import Clock
from pusherd.protocol.bus import BusFormatError, decode_bus_message, encode_bus_message
from pusherd.protocol.session import Member
from pusherd.state.consequences import Transition, consequences_of
from pusherd.state.subscriptions import ChannelIndex

__all__ = ["RedisAdapter"]

logger = logging.getLogger("pusherd.adapters.redis")

Write = tuple[str, bytes, bytes, int]  # (command, key or channel, value, ttl_ms)
T = TypeVar("T")
#: Failures that mean "Redis did not (certainly) do it": the caller marks the channel for repair.
_FAILURES = (RedisError, OSError)


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
        self._prefix = prefix
        self.node_id = node_id
        self._clock = clock
        self._rng = rng
        self._heartbeat_s = heartbeat_s
        self._node_timeout_s = node_timeout_s
        self._max_outbox = max_outbox
        self._reconnect_max_s = reconnect_max_s
        self._cluster_channel = f"{prefix}cluster".encode()
        self._index: ChannelIndex[Subscriber] = ChannelIndex()
        self._apps: set[str] = set()
        self._ledger = PresenceLedger()
        self._locks = ChannelLocks()
        self._repair = Repairer(
            redis=redis,
            keys=self._keys,
            node_id=node_id,
            locks=self._locks,
            ledger=self._ledger,
            local_channels=self._local_channels,
            local_count=self._index.count,
            report=self._report,
            announce_delay_s=2 * reconnect_max_s,
            max_pending_channels=max_repair_channels,
        )
        self._outbox: deque[Write] = deque()
        self._outbox_ready = asyncio.Event()
        self.dropped_writes = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._scripts: dict[str, Any] = {}
        self.is_listening = asyncio.Event()
        self._listener: MembershipListener = self._publish_frames

    def watch_membership(self, listener: MembershipListener) -> None:
        self._listener = listener

    def _report(self, transition: Transition) -> None:
        self._listener(transition)

    def _publish_frames(self, transition: Transition) -> None:
        """Until someone watches: the frames alone (no webhooks without a webhook sink)."""
        consequences = consequences_of(transition)
        for frame in consequences.frames:
            self.publish(
                transition.app_id, transition.channel, frame, consequences.except_socket_id
            )

    @property
    def repair_overflows(self) -> int:
        """Channels not queued for repair because the repair queue was full (all re-asserted)."""
        return self._repair.queue.overflows

    def _local_channels(self) -> Iterator[tuple[str, str]]:
        for app_id in tuple(self._apps):
            for channel, _ in tuple(self._index.channels(app_id)):
                yield app_id, channel

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        for name, source in (
            ("join_channel", JOIN_CHANNEL),
            ("leave_channel", LEAVE_CHANNEL),
            ("join_presence", JOIN_PRESENCE),
            ("leave_presence", LEAVE_PRESENCE),
        ):
            self._scripts[name] = self._redis.register_script(source)
        self._repair.register()
        await self._heartbeat()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._guard(self._listen)),
            loop.create_task(self._guard(self._drain_outbox)),
            loop.create_task(self._guard(self._keep_alive)),
        ]

    async def stop(self) -> None:
        """Flush the outbox (bounded), withdraw this node's counts, stop the tasks."""
        for _ in range(50):
            if not self._outbox:
                break
            await asyncio.sleep(0.02)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._repair.close()
        try:
            await self._repair.clean_node(self.node_id)
        except _FAILURES as exc:
            logger.warning("could not withdraw node %s from Redis: %s", self.node_id, exc)

    # -- publish ----------------------------------------------------------------------------

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
        fan_out(self._index.subscribers(app_id, channel), payload, except_socket_id)
        if cache_ttl_s is not None:
            self._remember(app_id, channel, payload, cache_ttl_s)
        if not local_only:
            envelope = encode_bus_message(
                app_id, channel, payload, except_socket_id, origin_node=self.node_id
            )
            self._write(("publish", self._cluster_channel, envelope, 0))

    def _remember(self, app_id: str, channel: str, payload: bytes, ttl_s: float) -> None:
        if is_cache_channel(channel):
            key = self._keys.channel(app_id, "cache", channel).encode()
            self._write(("set", key, payload, max(1, int(ttl_s * 1000))))

    def terminate_user(self, app_id: str, user_id: str) -> None:
        self._terminate_local(app_id, user_id)
        message = orjson.dumps({"op": "terminate", "app": app_id, "user": user_id})
        self._write(("publish", f"{self._prefix}control".encode(), message, 0))

    def _terminate_local(self, app_id: str, user_id: str) -> None:
        sockets = self._index.subscribers(app_id, user_channel(user_id))
        for subscriber in tuple(sockets.values()) if sockets else ():
            subscriber.terminate()

    def _write(self, write: Write) -> None:
        if len(self._outbox) >= self._max_outbox:
            self._outbox.popleft()
            self.dropped_writes += 1
            if self.dropped_writes in (1, 10, 100) or self.dropped_writes % 1000 == 0:
                logger.warning("Redis outbox full: %d writes dropped so far", self.dropped_writes)
        self._outbox.append(write)
        self._outbox_ready.set()

    # -- membership -------------------------------------------------------------------------

    async def _once_more(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis call; on a broken connection, drop the idle pool and run it once more.

        After a Redis restart every pooled connection is dead, and the first command on each
        fails; that must not reach a client as an error. A write retried this way may have run
        twice, so writers mark their channel for repair whenever this retried.
        """
        try:
            return await call()
        except RedisConnectionError:
            self._repair.suspect()
            await self._redis.connection_pool.disconnect(inuse_connections=False)
            return await call()

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """One of the membership scripts, through :meth:`_once_more`."""
        return await self._once_more(lambda: self._scripts[script](keys=keys, args=args))

    async def join(
        self,
        app_id: str,
        channel: str,
        subscriber: Subscriber,
        member: Member | None,
        *,
        max_presence_members: int,
    ) -> JoinResult:
        socket_id = subscriber.socket_id
        local = self._index.subscribers(app_id, channel)
        if local is not None and socket_id in local:
            stats = await self.channel_stats(app_id, channel)
            members = await self.members(app_id, channel) if member is not None else None
            return JoinResult(members=members, subscription_count=stats.subscription_count)
        async with self._locks.hold(app_id, channel):
            try:
                return await self._join_locked(
                    app_id, channel, subscriber, member, max_presence_members
                )
            except _FAILURES:
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
        is_member_added = False
        info_json = b"null"
        if member is not None:
            info_json = orjson.dumps(member.user_info)
            outcome = await self._run(
                "join_presence",
                self._keys.presence(app_id, channel),
                [member.user_id, info_json, self.node_id, max_presence_members],
            )
            if int(outcome) < 0:
                return JoinResult(is_refused_full=True)
            is_member_added = int(outcome) == 1
        channel_keys = [self._keys.channel(app_id, "ch", channel), self._keys.occupied(app_id)]
        total = int(await self._run("join_channel", channel_keys, [self.node_id, channel]))
        node_entry = RedisKeys.node_entry(app_id, channel)
        await self._once_more(
            lambda: self._redis.sadd(self._keys.node_channels(self.node_id), node_entry)
        )
        members = await self.members(app_id, channel) if member is not None else None
        # Only now does the socket take deliveries: the caller sends subscription_succeeded
        # before anything else can run, so no event overtakes it (a member_added from another
        # node for someone already in ``members`` would otherwise arrive first, §6.3).
        self._apps.add(app_id)
        self._index.add(app_id, channel, subscriber.socket_id, subscriber)
        if member is not None:
            self._ledger.add(
                app_id, channel, member.user_id, info_json.decode(), subscriber.socket_id
            )
        return JoinResult(
            is_channel_occupied=total == 1,
            is_member_added=is_member_added,
            members=members,
            subscription_count=total,
        )

    async def leave(
        self, app_id: str, channel: str, socket_id: str, member: Member | None
    ) -> LeaveResult:
        async with self._locks.hold(app_id, channel):
            # The socket leaves this node at once, whatever Redis says: it is gone.
            was_subscribed, _ = self._index.remove(app_id, channel, socket_id)
            if not was_subscribed:
                return LeaveResult()
            is_last_local = member is not None and self._ledger.remove(
                app_id, channel, member.user_id, socket_id
            )
            try:
                return await self._leave_locked(app_id, channel, member)
            except _FAILURES as exc:
                logger.warning(
                    "Redis failed a leave (%s); node %s re-asserts the channel when it can",
                    exc,
                    self.node_id,
                )
                gone = member.user_id if member is not None and is_last_local else None
                self._repair.failed(app_id, channel, gone)
                count = self._index.count(app_id, channel)
                return LeaveResult(was_subscribed=True, subscription_count=count)

    async def _leave_locked(self, app_id: str, channel: str, member: Member | None) -> LeaveResult:
        is_member_removed = False
        if member is not None:
            presence_keys = self._keys.presence(app_id, channel)
            outcome = await self._run(
                "leave_presence", presence_keys, [member.user_id, self.node_id]
            )
            is_member_removed = int(outcome) == 1
        channel_keys = [self._keys.channel(app_id, "ch", channel), self._keys.occupied(app_id)]
        total = int(await self._run("leave_channel", channel_keys, [self.node_id, channel]))
        return LeaveResult(
            was_subscribed=True,
            is_channel_vacated=total <= 0,
            is_member_removed=is_member_removed,
            subscription_count=max(total, 0),
        )

    # -- queries ----------------------------------------------------------------------------

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        def read() -> Awaitable[list[Any]]:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hvals(self._keys.channel(app_id, "ch", channel))
            pipe.hlen(self._keys.channel(app_id, "pu", channel))
            return pipe.execute()

        counts, users = await self._once_more(read)
        user_count = int(users) if is_presence_channel(channel) else None
        return ChannelStats(sum(int(count) for count in counts), user_count)

    async def channels(self, app_id: str, prefix: str) -> dict[str, ChannelStats]:
        occupied = await self._once_more(lambda: self._redis.smembers(self._keys.occupied(app_id)))
        names = sorted(name for name in map(text_reply, occupied) if name.startswith(prefix))
        result = {}
        for name in names:
            stats = await self.channel_stats(app_id, name)
            if stats.subscription_count > 0:
                result[name] = stats
        return result

    async def members(self, app_id: str, channel: str) -> dict[str, Any]:
        key = self._keys.channel(app_id, "pr", channel)
        raw = await self._once_more(lambda: self._redis.hgetall(key))
        return {text_reply(user): orjson.loads(info) for user, info in raw.items()}

    async def cached_event(self, app_id: str, channel: str) -> CachedEvent | None:
        key = self._keys.channel(app_id, "cache", channel)

        def read() -> Awaitable[list[Any]]:
            pipe = self._redis.pipeline(transaction=False)
            pipe.get(key)
            pipe.pttl(key)
            return pipe.execute()

        frame, ttl_ms = await self._once_more(read)
        if frame is None or int(ttl_ms) <= 0:
            return None
        return CachedEvent(frame, self._clock.time() + int(ttl_ms) / 1000)

    # -- background work --------------------------------------------------------------------

    async def _guard(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` forever: a lost Redis connection is retried with jittered backoff, and
        the repair is told to check Redis now (the listener is the first to see a restart).

        The backoff is capped at ``reconnect_max_s``, so every node is back on the bus and
        has re-asserted its state within about that long of Redis answering again.
        """
        loop = asyncio.get_running_loop()
        max_delay_s = self._reconnect_max_s
        delay_s = 0.1
        while True:
            started = loop.time()
            try:
                await work()
                return
            except _FAILURES as exc:
                self.is_listening.clear()
                self._repair.suspect()
                if loop.time() - started > 10 * max_delay_s:
                    delay_s = 0.1  # It had worked for a while: this is a new outage.
                logger.warning("Redis adapter: %s; retrying in %.1f s", exc, delay_s)
                await asyncio.sleep(delay_s * (0.5 + self._rng.random()))
                delay_s = min(delay_s * 2, max_delay_s)

    async def _listen(self) -> None:
        bus, control = self._cluster_channel, f"{self._prefix}control".encode()
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(bus, control)
            self.is_listening.set()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message["type"] != "message":
                    continue
                if message["channel"] == bus:
                    self._on_bus(message["data"])
                else:
                    self._on_control(message["data"])
        finally:
            close_pubsub: Callable[[], Awaitable[None]] = pubsub.aclose
            await close_pubsub()

    def _on_bus(self, data: bytes) -> None:
        try:
            envelope = decode_bus_message(data)
        except BusFormatError as exc:
            logger.warning("dropped a bus message: %s", exc)
            return
        if envelope.origin_node == self.node_id:
            return
        sockets = self._index.subscribers(envelope.app_id, envelope.channel)
        fan_out(sockets, envelope.frame, envelope.except_socket_id)

    def _on_control(self, data: bytes) -> None:
        try:
            command = orjson.loads(data)
        except orjson.JSONDecodeError:
            logger.warning("dropped a control message that is not JSON")
            return
        if isinstance(command, dict) and command.get("op") == "terminate":
            app_id, user_id = command.get("app"), command.get("user")
            if isinstance(app_id, str) and isinstance(user_id, str):
                self._terminate_local(app_id, user_id)

    async def _drain_outbox(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                batch = [self._outbox[index] for index in range(min(len(self._outbox), 512))]
                pipe = self._redis.pipeline(transaction=False)
                for command, target, value, ttl_ms in batch:
                    if command == "publish":
                        pipe.publish(target, value)
                    else:
                        pipe.set(target, value, px=ttl_ms)
                await pipe.execute()
                for _ in batch:
                    self._outbox.popleft()

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
