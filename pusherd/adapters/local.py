"""The in-memory adapter: one process, the reference semantics every other adapter must match."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from typing import Any

from pusherd.adapters.base import (
    AdapterCounters,
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
from pusherd.clock import Clock
from pusherd.protocol.session import Member
from pusherd.protocol.wsframes import text_frame
from pusherd.state.presence import Roster
from pusherd.state.subscriptions import ChannelIndex

__all__ = ["LocalAdapter", "fan_out"]

#: How often a started adapter drops expired cache-channel entries (seconds of real time).
SWEEP_INTERVAL_S = 30.0


def fan_out(
    sockets: dict[str, Subscriber] | None, payload: bytes, except_socket_id: str | None
) -> int:
    """Frame ``payload`` once and write the same bytes to each subscriber of one channel.

    Returns how many sockets it was written to. The loop is synchronous: a slow socket only
    buffers (and is dropped past its bound by its own ``deliver``), it never delays the rest.
    """
    if not sockets:
        return 0
    ws_frame = text_frame(payload)
    # A copy, because a subscriber dropped for overflow may leave the channel meanwhile.
    targets = tuple(sockets.values())
    if except_socket_id is None:
        for subscriber in targets:
            subscriber.deliver(ws_frame)
        return len(targets)
    sent = 0
    for subscriber in targets:
        if subscriber.socket_id != except_socket_id:
            subscriber.deliver(ws_frame)
            sent += 1
    return sent


class LocalAdapter:
    """Channels, subscriptions and presence rosters in this process's memory.

    Cache-channel entries (§11) expire without being read: each write first drops what has
    expired, and a started adapter also sweeps on a timer, so channels that are written once and
    never read again (the poller's per-match channels) do not stay forever (issue 10, item 10).
    Expiry times come from the injected clock, so tests advance a FakeClock and call
    :meth:`sweep`.
    """

    def __init__(self, *, clock: Clock, sweep_interval_s: float = SWEEP_INTERVAL_S) -> None:
        self._clock = clock
        self._index: ChannelIndex[Subscriber] = ChannelIndex()
        self._roster = Roster()
        self._cache: dict[tuple[str, str], CachedEvent] = {}
        #: (expires_at, key) per write, soonest first; an entry rewritten since is skipped.
        self._expiries: list[tuple[float, tuple[str, str]]] = []
        self._sweep_interval_s = sweep_interval_s
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="cache-sweeper")

    async def stop(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval_s)
            self.sweep()

    def sweep(self) -> None:
        """Drop every cache entry whose TTL has passed; O(log n) per expired write."""
        now = self._clock.time()
        expiries, cache = self._expiries, self._cache
        while expiries and expiries[0][0] <= now:
            expires_at, key = heapq.heappop(expiries)
            cached = cache.get(key)
            if cached is not None and cached.expires_at == expires_at:
                del cache[key]

    def cached_channel_count(self) -> int:
        """Cache channels holding an event (for metrics and the memory tests)."""
        return len(self._cache)

    def expiry_queue_length(self) -> int:
        return len(self._expiries)

    def publish(
        self,
        app_id: str,
        channel: str,
        payload: bytes,
        except_socket_id: str | None = None,
        *,
        cache_ttl_s: float | None = None,
    ) -> None:
        if cache_ttl_s is not None:
            self.remember(app_id, channel, payload, cache_ttl_s)
        fan_out(self._index.subscribers(app_id, channel), payload, except_socket_id)

    def remember(self, app_id: str, channel: str, payload: bytes, ttl_s: float) -> None:
        """Keep the last event of a cache channel (§11); other channels keep nothing."""
        if not is_cache_channel(channel):
            return
        self.sweep()
        key = (app_id, channel)
        expires_at = self._clock.time() + ttl_s
        self._cache[key] = CachedEvent(payload, expires_at)
        heapq.heappush(self._expiries, (expires_at, key))
        if len(self._expiries) > 2 * len(self._cache) + 64:
            # Rewrites leave superseded expiries behind: rebuild from the live entries.
            self._expiries = [(c.expires_at, k) for k, c in self._cache.items()]
            heapq.heapify(self._expiries)

    async def cached_event(self, app_id: str, channel: str) -> CachedEvent | None:
        cached = self._cache.get((app_id, channel))
        if cached is None:
            return None
        if cached.expires_at <= self._clock.time():
            del self._cache[(app_id, channel)]
            return None
        return cached

    def counters(self) -> AdapterCounters:
        """Memory drops nothing and repairs nothing."""
        return AdapterCounters()

    def subscriber_count(self, app_id: str, channel: str) -> int:
        """This process's sockets in ``channel`` (for an adapter that composes this one)."""
        return self._index.count(app_id, channel)

    def is_subscribed(self, app_id: str, channel: str, socket_id: str) -> bool:
        sockets = self._index.subscribers(app_id, channel)
        return sockets is not None and socket_id in sockets

    def held_channels(self) -> tuple[tuple[str, str], ...]:
        """Every ``(app_id, channel)`` this process's sockets hold."""
        return self._index.keys()

    def watch_membership(self, listener: MembershipListener) -> None:
        """One process has no other node to die and no Redis to repair: nothing to report."""

    def terminate_user(self, app_id: str, user_id: str) -> None:
        self.terminate_channel(app_id, user_channel(user_id))

    def terminate_channel(self, app_id: str, channel: str) -> None:
        sockets = self._index.subscribers(app_id, channel)
        for subscriber in tuple(sockets.values()) if sockets else ():
            subscriber.terminate()

    async def join(
        self,
        app_id: str,
        channel: str,
        subscriber: Subscriber,
        member: Member | None,
        *,
        max_presence_members: int,
    ) -> JoinResult:
        is_member_added = False
        members = None
        if member is not None:
            roster = self._roster
            if not roster.has_user(app_id, channel, member.user_id) and (
                roster.user_count(app_id, channel) >= max_presence_members
            ):
                return JoinResult(is_refused_full=True)
            is_member_added = roster.add(
                app_id, channel, member.user_id, member.user_info, subscriber.socket_id
            )
            members = roster.members(app_id, channel)
        _, is_occupied = self._index.add(app_id, channel, subscriber.socket_id, subscriber)
        return JoinResult(
            is_channel_occupied=is_occupied,
            is_member_added=is_member_added,
            members=members,
            subscription_count=self._index.count(app_id, channel),
        )

    async def leave(
        self, app_id: str, channel: str, socket_id: str, member: Member | None
    ) -> LeaveResult:
        was_subscribed, is_vacated = self._index.remove(app_id, channel, socket_id)
        is_removed = False
        if member is not None:
            is_removed = self._roster.remove(app_id, channel, member.user_id, socket_id)
        return LeaveResult(
            was_subscribed=was_subscribed,
            is_channel_vacated=is_vacated,
            is_member_removed=is_removed,
            subscription_count=self._index.count(app_id, channel),
        )

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        user_count = (
            self._roster.user_count(app_id, channel) if is_presence_channel(channel) else None
        )
        return ChannelStats(self._index.count(app_id, channel), user_count)

    async def channels(self, app_id: str, prefix: str) -> dict[str, ChannelStats]:
        result = {}
        for channel, count in self._index.channels(app_id, prefix):
            user_count = (
                self._roster.user_count(app_id, channel) if is_presence_channel(channel) else None
            )
            result[channel] = ChannelStats(count, user_count)
        return result

    async def members(self, app_id: str, channel: str) -> dict[str, Any]:
        return self._roster.members(app_id, channel)
