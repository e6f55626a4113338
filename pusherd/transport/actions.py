"""What joining, leaving and signing in do beyond the frame itself, in one place.

Presence ``member_added``/``member_removed`` (§6.3), the cache replay or ``pusher:cache_miss``
(§11), ``pusher_internal:subscription_count`` (§12), watchlist ``online``/``offline`` (§13.3)
and the webhook calls (§10) all follow from the adapter's answer to a join or a leave. Keeping
them here leaves the socket protocol to bytes and ordering.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pusherd.adapters.base import (
    Adapter,
    JoinResult,
    LeaveResult,
    user_channel,
    watchers_channel,
)
from pusherd.clock import Clock
from pusherd.config import AppConfig
from pusherd.hooks import KeyQuota, WebhookSink, api_key_channel
from pusherd.protocol.channels import ChannelKind, classify_channel
from pusherd.protocol.errors import (
    ClientError,
    CloseCode,
    ConnectionRefused,
    SubscriptionRefused,
)
from pusherd.protocol.frames import (
    cache_miss_frame,
    presence_data,
    signin_success_frame,
    subscription_count_frame,
    subscription_succeeded_frame,
    watchlist_events_frame,
)
from pusherd.protocol.session import Join, Member, Relay, Session, SignIn
from pusherd.state.consequences import Arrival, Departure, Transition, consequences_of

__all__ = ["ChannelActions", "Connection"]

logger = logging.getLogger("pusherd.transport.actions")

#: Above this many subscribers, subscription_count goes out at most once per window (§12).
COUNT_THROTTLE_ABOVE = 100
COUNT_THROTTLE_WINDOW_S = 5.0


class Connection(Protocol):
    """The socket as the actions see it."""

    @property
    def socket_id(self) -> str: ...

    @property
    def is_closing(self) -> bool: ...

    def deliver(self, ws_frame: bytes) -> None: ...

    def terminate(self) -> None: ...

    def send(self, payload: bytes) -> None:
        """Frame and write one Pusher frame to this socket only."""
        ...

    def refuse(self, error: ConnectionRefused) -> None:
        """``pusher:error`` with the code, then close with it."""
        ...


def _counts_subscriptions(app: AppConfig, channel: str) -> bool:
    """Subscription counts are opt-in and never on presence or internal channels (§12)."""
    if not app.subscription_count_enabled or channel.startswith("#"):
        return False
    channel_type = classify_channel(channel, 200)
    return channel_type is not None and channel_type.kind is not ChannelKind.PRESENCE


class ChannelActions:
    def __init__(
        self,
        *,
        adapter: Adapter,
        clock: Clock,
        webhooks: WebhookSink | None,
        key_quota: KeyQuota | None = None,
        presence_leave_wait: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.adapter = adapter
        self.clock = clock
        self.webhooks = webhooks
        self.key_quota = key_quota
        #: Awaited before a presence member's leave reaches the adapter: the hand-over's grace
        #: (:func:`pusherd.handover.presence_leave_grace`), so a client that re-joins on another
        #: node meanwhile causes no ``member_removed``.
        self.presence_leave_wait = presence_leave_wait
        self._count_sent_at: dict[tuple[str, str], float] = {}
        self._count_pending: dict[tuple[str, str], asyncio.TimerHandle] = {}

    async def join(self, app: AppConfig, session: Session, conn: Connection, join: Join) -> None:
        channel, member = join.channel, join.member
        result = await self.adapter.join(
            app.app_id, channel, conn, member, max_presence_members=app.max_presence_members
        )
        if result.is_refused_full:
            error = f"Presence channel is full ({app.max_presence_members} members)"
            conn.send(SubscriptionRefused(channel, "LimitReached", error, 403).to_frame())
            return
        session.joined(channel, None if member is None else member.user_id)
        # Announce before anything can end this early: the leave that follows a close (or a
        # refusal below) announces the removal, and every removal needs its addition (§6.3).
        self._announce_join(app, conn, channel, member, result)
        if conn.is_closing:
            return
        if join.channel_type.needs_signature and not await self._within_key_quota(
            app, session, conn
        ):
            return
        data = "{}" if result.members is None else presence_data(result.members)
        conn.send(subscription_succeeded_frame(channel, data))
        if join.channel_type.is_cache:
            await self._replay_cache(app, conn, channel)
        # After subscription_succeeded, so the new subscriber's count follows it (§12).
        self._count_changed(app, channel, result.subscription_count)

    async def leave(self, app: AppConfig, session: Session, conn: Connection, channel: str) -> None:
        user_id = session.channels.get(channel)
        session.left(channel)
        member = None if user_id is None else Member(user_id, None)
        if member is not None and self.presence_leave_wait is not None:
            await self.presence_leave_wait()
        result = await self.adapter.leave(app.app_id, channel, conn.socket_id, member)
        self._after_leave(app, channel, user_id, result)

    async def signin(
        self, app: AppConfig, session: Session, conn: Connection, signin: SignIn
    ) -> None:
        """Answer a verified signin, then join the user's channel and report the watchlist."""
        if not await self._within_key_quota(app, session, conn):
            return
        channel = user_channel(signin.user_id)
        if channel not in session.channels:
            # Joined before the answer, so that the moment the client knows it is signed in,
            # server-to-user events and terminate requests already reach it (§13.2, §13.4).
            result = await self.adapter.join(
                app.app_id, channel, conn, None, max_presence_members=app.max_presence_members
            )
            session.joined(channel, None)
            self._announce_join(app, conn, channel, None, result)
        conn.send(signin_success_frame(signin.user_data))
        if not app.watchlist_enabled or not signin.watchlist:
            return
        online: list[str] = []
        offline: list[str] = []
        for watched in signin.watchlist:
            watchers = watchers_channel(watched)
            if watchers not in session.channels:
                await self.adapter.join(app.app_id, watchers, conn, None, max_presence_members=1)
                session.joined(watchers, None)
            stats = await self.adapter.channel_stats(app.app_id, user_channel(watched))
            (online if stats.subscription_count else offline).append(watched)
        conn.send(watchlist_events_frame(online, offline))
        if signin.is_watchlist_truncated:
            conn.send(
                ClientError(
                    CloseCode.WATCHLIST_LIMIT,
                    "Watchlist limit exceeded. Only the first 100 user IDs are accepted.",
                ).to_frame()
            )

    async def _within_key_quota(self, app: AppConfig, session: Session, conn: Connection) -> bool:
        """Count the socket against its API key's connection cap; over it, close with 4004.

        The count is the occupancy of an internal per-key channel, so it spans every node and
        a closed socket leaves it like any other channel.
        """
        if self.key_quota is None:
            return True
        limit = await self.key_quota.key_limit(conn.socket_id)
        if limit is None:
            return True
        key_id, max_connections = limit
        channel = api_key_channel(key_id)
        if channel in session.channels:
            return True
        stats = await self.adapter.channel_stats(app.app_id, channel)
        if stats.subscription_count >= max_connections:
            conn.refuse(
                ConnectionRefused(CloseCode.OVER_QUOTA, "API key is over its connection quota")
            )
            return False
        await self.adapter.join(app.app_id, channel, conn, None, max_presence_members=1)
        session.joined(channel, None)
        return True

    def relay(self, app: AppConfig, conn: Connection, relay: Relay) -> None:
        """A client event goes to the channel's other subscribers and is never cached (§7, §11)."""
        self.adapter.publish(app.app_id, relay.channel, relay.frame, conn.socket_id)
        if self.webhooks is not None:
            self.webhooks.client_event(
                app.app_id, relay.channel, relay.event, relay.data, conn.socket_id, relay.user_id
            )

    async def _replay_cache(self, app: AppConfig, conn: Connection, channel: str) -> None:
        cached = await self.adapter.cached_event(app.app_id, channel)
        if cached is not None:
            conn.send(cached.frame)
            return
        conn.send(cache_miss_frame(channel))
        if self.webhooks is not None:
            self.webhooks.cache_miss(app.app_id, channel)

    def _announce_join(
        self,
        app: AppConfig,
        conn: Connection,
        channel: str,
        member: Member | None,
        result: JoinResult,
    ) -> None:
        added = member is not None and result.is_member_added
        arrival = Arrival(
            app.app_id,
            channel,
            result.is_channel_occupied,
            result.subscription_count,
            member.user_id if added and member is not None else None,
            member.user_info if added and member is not None else None,
            conn.socket_id,
        )
        # The count follows subscription_succeeded (§12): the join sends it itself.
        self.carry_out(app, arrival, is_counting=False)

    def _after_leave(
        self, app: AppConfig, channel: str, user_id: str | None, result: LeaveResult
    ) -> None:
        users = (user_id,) if user_id is not None and result.is_member_removed else ()
        departure = Departure(
            app.app_id,
            channel,
            result.is_channel_vacated,
            result.subscription_count,
            users,
            result.was_subscribed,
        )
        self.carry_out(app, departure)

    def carry_out(
        self, app: AppConfig, transition: Transition, *, is_counting: bool = True
    ) -> None:
        """Do what a join or a leave causes, whoever noticed it: this node's socket, or the
        adapter (a dead node's sockets withdrawn, a repair), so both cause the same."""
        channel = transition.channel
        consequences = consequences_of(transition)
        for frame in consequences.frames:
            self.adapter.publish(app.app_id, channel, frame, consequences.except_socket_id)
        webhooks = self.webhooks
        if webhooks is not None:
            for name, user_id in consequences.webhooks:
                if user_id is not None:
                    if name == "member_added":
                        webhooks.member_added(app.app_id, channel, user_id)
                    else:
                        webhooks.member_removed(app.app_id, channel, user_id)
                elif name == "channel_occupied":
                    webhooks.channel_occupied(app.app_id, channel)
                else:
                    webhooks.channel_vacated(app.app_id, channel)
        if consequences.online is not None:
            self._tell_watchers(app, consequences.online, is_online=True)
        if consequences.offline is not None:
            self._tell_watchers(app, consequences.offline, is_online=False)
        if is_counting and consequences.count is not None:
            self._count_changed(app, channel, consequences.count)

    def _tell_watchers(self, app: AppConfig, user_id: str, *, is_online: bool) -> None:
        if not app.watchlist_enabled:
            return
        ids = [user_id]
        frame = watchlist_events_frame(ids, []) if is_online else watchlist_events_frame([], ids)
        self.adapter.publish(app.app_id, watchers_channel(user_id), frame)

    def _count_changed(self, app: AppConfig, channel: str, count: int) -> None:
        """Send the new count, at most once per 5 s while a big channel keeps changing (§12)."""
        if not _counts_subscriptions(app, channel):
            return
        key = (app.app_id, channel)
        now = self.clock.monotonic()
        if count > COUNT_THROTTLE_ABOVE:
            if key in self._count_pending:
                return
            wait_s = self._count_sent_at.get(key, -1e9) + COUNT_THROTTLE_WINDOW_S - now
            if wait_s > 0:
                loop = asyncio.get_running_loop()
                self._count_pending[key] = loop.call_later(
                    wait_s, self._send_latest_count, app, channel
                )
                return
        self._send_count(app, channel, count, now)

    def _send_count(self, app: AppConfig, channel: str, count: int, now: float) -> None:
        self._count_sent_at[(app.app_id, channel)] = now
        if count:
            self.adapter.publish(app.app_id, channel, subscription_count_frame(channel, count))
        else:
            self._count_sent_at.pop((app.app_id, channel), None)
        if self.webhooks is not None:
            self.webhooks.subscription_count(app.app_id, channel, count)

    def _send_latest_count(self, app: AppConfig, channel: str) -> None:
        self._count_pending.pop((app.app_id, channel), None)

        async def send() -> None:
            stats = await self.adapter.channel_stats(app.app_id, channel)
            self._send_count(app, channel, stats.subscription_count, self.clock.monotonic())

        task = asyncio.get_running_loop().create_task(send())
        task.add_done_callback(_log_failure)

    def cancel_timers(self) -> None:
        for handle in self._count_pending.values():
            handle.cancel()
        self._count_pending.clear()


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("subscription count update failed", exc_info=task.exception())
