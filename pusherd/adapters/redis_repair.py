"""Keeping what Redis says about a node equal to what the node holds, through Redis failures.

A node is the only source of truth for its own sockets: which channels they hold and which
presence members they are. Redis keeps a copy (per-node fields, see
:mod:`pusherd.adapters.redis_scripts`) that can drift from it in three ways:

* a write fails (Redis down, out of memory, a connection cut mid-command): the local change
  happened, the shared one did not, or did twice;
* Redis restarts without persistence (or fails over to a replica): it forgets every node;
* other nodes declare this one dead while it could not reach Redis, and withdraw its members.

Rather than replaying individual writes, the repair re-asserts **absolute** values: for one
channel, ``RESYNC_CHANNEL`` replaces this node's contribution with what the node holds now,
whatever Redis kept, lost or counted twice. Failed writes therefore only have to name the
channel they touched (:class:`RepairQueue`, bounded; past the bound every channel is
re-asserted), and a restart (a new ``run_id`` in ``INFO server``) or being declared dead (this
node's heartbeat entry was missing) re-asserts every channel the node knows.

Joins, leaves and repairs of one channel take :class:`ChannelLocks`, so a re-assertion never
overwrites a join or a leave that is half way through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import redis.asyncio as aioredis

from pusherd.adapters.redis_ledger import ChannelKey, ChannelLocks, PresenceLedger, RepairQueue
from pusherd.adapters.redis_scripts import CLEAN_NODE, RESYNC_CHANNEL, RedisKeys, text_reply
from pusherd.state.consequences import Arrival, Departure, Transition

__all__ = ["Repairer"]

logger = logging.getLogger("pusherd.adapters.redis")


class Repairer:
    """Keeps this node alive in Redis, its state true there, and withdraws dead nodes.

    The heartbeat is also the detector: a new ``run_id`` means Redis restarted (or failed
    over), a missing entry in ``{prefix}nodes`` means Redis forgot this node or another node
    declared it dead; either way every channel of the node is re-asserted.
    """

    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        keys: RedisKeys,
        node_id: str,
        locks: ChannelLocks,
        ledger: PresenceLedger,
        local_channels: Callable[[], Iterable[ChannelKey]],
        local_count: Callable[[str, str], int],
        report: Callable[[Transition], None],
        announce_delay_s: float,
        max_pending_channels: int,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._node_id = node_id
        self._locks = locks
        self._ledger = ledger
        self._local_channels = local_channels
        self._local_count = local_count
        self._report = report
        self._announce_delay_s = announce_delay_s
        self._announcements: set[asyncio.TimerHandle] = set()
        self.queue = RepairQueue(max_pending_channels)
        self._script: Any = None
        self._clean_script: Any = None
        self._run_id: str | None = None
        self._wakeup = asyncio.Event()
        self.repaired_channels = 0

    def register(self) -> None:
        self._script = self._redis.register_script(RESYNC_CHANNEL)
        self._clean_script = self._redis.register_script(CLEAN_NODE)

    def close(self) -> None:
        """Drop the announcements still waiting (the node is stopping)."""
        for handle in self._announcements:
            handle.cancel()
        self._announcements.clear()

    def _report_later(self, transition: Transition) -> None:
        """Report a repair's transition once every node's listener is back on the bus.

        Pub/sub delivers only to nodes subscribed at that moment, and after a restart each
        node resubscribes within its reconnect backoff; announcing at once would reach none.
        """

        def fire() -> None:
            self._announcements.discard(handle)
            self._report(transition)

        handle = asyncio.get_running_loop().call_later(self._announce_delay_s, fire)
        self._announcements.add(handle)

    def failed(self, app_id: str, channel: str, gone_user: str | None = None) -> None:
        """A write to ``channel`` failed or may have been applied twice: re-assert it soon."""
        self.queue.add(app_id, channel, gone_user)
        self._wakeup.set()

    def suspect(self) -> None:
        """Redis misbehaved somewhere: check it now rather than at the next heartbeat."""
        self._wakeup.set()

    async def wait(self, timeout_s: float) -> None:
        """Sleep until the next heartbeat, or less when something failed meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def beat(self, now: float) -> None:
        """Heartbeat, notice lost state, then re-assert whatever is pending.

        Raises ``RedisError``/``OSError`` while Redis is unreachable; what was pending stays so.
        """
        pipe = self._redis.pipeline(transaction=False)
        pipe.info("server")
        pipe.zadd(self._keys.nodes, {self._node_id: now})
        info, added = await pipe.execute()
        run_id = str(info.get("run_id", ""))
        if self._run_id is not None:
            if run_id != self._run_id:
                logger.warning("Redis restarted (new run_id): re-asserting this node's channels")
                self.queue.everything(is_announcing_added=False)
            elif int(added) == 1:
                logger.warning(
                    "Redis had withdrawn node %s as dead: re-asserting its channels", self._node_id
                )
                self.queue.everything(is_announcing_added=True)
        self._run_id = run_id
        await self.drain()

    async def drain(self) -> None:
        """Re-assert the queued channels, or every channel the node knows when asked to."""
        queue = self.queue
        is_everything, is_announcing_added = queue.is_everything, queue.is_announcing_added
        if not is_everything and not len(queue):
            return
        queue.is_everything = queue.is_announcing_added = False
        try:
            todo = set(queue.channels())
            if is_everything:
                todo.update(self._local_channels())
                todo.update(self._ledger.channels())
                entries = await self._redis.smembers(self._keys.node_channels(self._node_id))
                todo.update(RedisKeys.split_node_entry(text_reply(entry)) for entry in entries)
            for app_id, channel in sorted(todo):
                await self.resync(app_id, channel, is_announcing_added=is_announcing_added)
        except BaseException:
            if is_everything:  # Not finished: the next attempt starts over.
                queue.everything(is_announcing_added=is_announcing_added)
            raise
        if is_everything:
            logger.warning("re-asserted %d channel(s) of node %s", len(todo), self._node_id)

    async def resync(self, app_id: str, channel: str, *, is_announcing_added: bool) -> None:
        """Replace this node's counts and members of one channel in Redis with its own."""
        keys = self._keys
        async with self._locks.hold(app_id, channel):
            gone = self.queue.gone_users(app_id, channel)
            members = self._ledger.snapshot(app_id, channel)
            total, removed, added, before = await self._script(
                keys=[
                    keys.channel(app_id, "ch", channel),
                    keys.occupied(app_id),
                    *keys.presence(app_id, channel),
                    keys.node_channels(self._node_id),
                ],
                args=[
                    self._node_id,
                    channel,
                    self._local_count(app_id, channel),
                    orjson.dumps({user: list(entry) for user, entry in members.items()}),
                    RedisKeys.node_entry(app_id, channel),
                ],
            )
            # Who left while Redis could not hear it, and is not there on any other node.
            gone_now = set(map(text_reply, removed))
            if gone:
                users = sorted(gone)
                counts = await self._redis.hmget(keys.presence(app_id, channel)[0], users)
                gone_now.update(user for user, n in zip(users, counts, strict=True) if n is None)
            self.queue.done(app_id, channel)
            self.repaired_channels += 1
        total, before = int(total), int(before)
        is_vacated = before > 0 and total <= 0
        if gone_now or is_vacated:
            departed = tuple(sorted(gone_now))
            self._report_later(Departure(app_id, channel, is_vacated, max(total, 0), departed))
        if is_announcing_added:
            # Only after this node was declared dead: the others were told these users left.
            is_occupied = before <= 0 < total
            for user_id in map(text_reply, added):
                if user_id in members:
                    info = orjson.loads(members[user_id][1])
                    self._report_later(Arrival(app_id, channel, is_occupied, total, user_id, info))
                    is_occupied = False
            if is_occupied:
                self._report_later(Arrival(app_id, channel, True, total))

    # -- other nodes ------------------------------------------------------------------------

    async def clean_dead_nodes(self, now: float, node_timeout_s: float) -> list[str]:
        """Withdraw nodes silent for ``node_timeout_s``; returns the ids this node cleaned.

        Every survivor sees the same dead node; the one whose ``ZREM`` removes it from
        ``{prefix}nodes`` (an atomic step, so exactly one) cleans it and reports what its
        sockets' departure caused, so each webhook goes out once per cluster. Should the clean
        fail half way, the node goes back in the set as long dead and the next heartbeat of
        any survivor finishes the job (the clean-up script only reports what it changes).
        """
        dead = await self._redis.zrangebyscore(self._keys.nodes, "-inf", now - node_timeout_s)
        cleaned = []
        for raw in dead:
            node_id = text_reply(raw)
            if node_id == self._node_id or not await self._redis.zrem(self._keys.nodes, node_id):
                continue
            logger.warning("node %s stopped answering; withdrawing its members", node_id)
            try:
                await self.clean_node(node_id)
            except BaseException:
                await self._redis.zadd(self._keys.nodes, {node_id: 0})
                raise
            cleaned.append(node_id)
        return cleaned

    async def clean_node(self, node_id: str) -> None:
        """Subtract everything ``node_id`` contributed and report what its departure caused."""
        keys = self._keys
        for raw in await self._redis.smembers(keys.node_channels(node_id)):
            app_id, channel = RedisKeys.split_node_entry(text_reply(raw))
            total, had, removed = await self._clean_script(
                keys=[
                    keys.channel(app_id, "ch", channel),
                    keys.occupied(app_id),
                    *keys.presence(app_id, channel),
                ],
                args=[node_id, channel],
            )
            if int(had) or removed:
                total = max(int(total), 0)
                users = tuple(map(text_reply, removed))
                self._report(Departure(app_id, channel, int(had) == 1 and total == 0, total, users))
        await self._redis.delete(keys.node_channels(node_id))
        await self._redis.zrem(keys.nodes, node_id)
