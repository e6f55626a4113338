"""The webhooks entry point the WebSocket layer calls (reference §10).

Each call is synchronous and O(1) for the caller: it runs the app's :class:`WebhookRules` with the
clock's ``now`` and hands what is due to the :class:`WebhookSender`'s outbox. One timer task
releases the events the rules hold (``channel_vacated``/``member_removed`` after 3 s, the latest
``subscription_count`` at the end of a 5-s window). Apps without webhook targets cost one dict
lookup. Calls must come from the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence

import httpx

from pusherd.clock import Clock
from pusherd.config import AppConfig
from pusherd.webhooks.events import (
    COUNT_THROTTLE_ABOVE,
    COUNT_THROTTLE_WINDOW_S,
    HOLD_S,
    ClientEvent,
    WebhookEvent,
    WebhookRules,
)
from pusherd.webhooks.sender import DEFAULT_RETRY, RetryPolicy, WebhookSender

__all__ = ["WebhookDispatcher"]

logger = logging.getLogger("pusherd.webhooks.dispatcher")


class _AppHooks:
    __slots__ = ("app", "rules")

    def __init__(self, app: AppConfig, rules: WebhookRules) -> None:
        self.app = app
        self.rules = rules


class WebhookDispatcher:
    """Turns occupancy, presence, client, cache and count changes into webhooks.

    Args:
        apps: every app; only those with ``webhooks`` targets get any state.
        http: the client deliveries go through; its owner closes it after :meth:`stop`.
        clock: ``monotonic()`` drives the hold and throttle rules, ``time()`` the ``time_ms``.
        rng: jitter of the retry back-off and the delivery ids.
        max_outbox: events held at most before new ones are dropped (and counted).
        hold_s: delay of ``channel_vacated`` / ``member_removed`` (Pusher: 3 s, §10.4).
        count_window_s: ``subscription_count`` throttle window above 100 subscribers (5 s).
        batch_window_s: how long batching apps collect events into one POST.
        retry: back-off, give-up limit (5 min) and per-request timeout.
        shutdown_grace_s: how long :meth:`stop` keeps delivering before it cancels.
    """

    def __init__(
        self,
        *,
        apps: Sequence[AppConfig],
        http: httpx.AsyncClient,
        clock: Clock,
        rng: random.Random,
        max_outbox: int = 10_000,
        hold_s: float = HOLD_S,
        count_window_s: float = COUNT_THROTTLE_WINDOW_S,
        batch_window_s: float = 0.05,
        retry: RetryPolicy = DEFAULT_RETRY,
        shutdown_grace_s: float = 5.0,
    ) -> None:
        self._clock = clock
        self._hold_s = hold_s
        self._count_window_s = count_window_s
        self._shutdown_grace_s = shutdown_grace_s
        self._apps = {
            app.app_id: _AppHooks(
                app,
                WebhookRules(
                    hold_s=hold_s,
                    count_window_s=count_window_s,
                    count_throttle_above=COUNT_THROTTLE_ABOVE,
                ),
            )
            for app in apps
            if app.webhooks
        }
        self._sender = WebhookSender(
            apps=[hooks.app for hooks in self._apps.values()],
            http=http,
            clock=clock,
            rng=rng,
            max_outbox=max_outbox,
            batch_window_s=batch_window_s,
            retry=retry,
        )
        self._timer_wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._timer_deadline: float | None = None
        self._is_stopped = False

    @property
    def dropped(self) -> int:
        """Events dropped because the outbox was full."""
        return self._sender.dropped

    @property
    def sender(self) -> WebhookSender:
        """Delivery counters (``delivered``, ``given_up``, ``outbox_size``) for metrics."""
        return self._sender

    async def start(self) -> None:
        await self._sender.start()
        if self._apps:
            self._timer = asyncio.create_task(self._run_timer())

    async def stop(self) -> None:
        """Release what the rules still hold, deliver within the grace period, then cancel."""
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        for app_id, hooks in self._apps.items():
            self._submit(app_id, hooks.rules.drain())
        self._is_stopped = True
        await self._sender.stop(self._shutdown_grace_s)

    # -- the calls of the WebSocket layer ----------------------------------------------------

    def channel_occupied(self, app_id: str, channel: str) -> None:
        hooks = self._apps.get(app_id)
        if hooks is not None:
            self._submit(app_id, hooks.rules.channel_occupied(channel, self._clock.monotonic()))

    def channel_vacated(self, app_id: str, channel: str) -> None:
        hooks = self._apps.get(app_id)
        if hooks is not None:
            now = self._clock.monotonic()
            hooks.rules.channel_vacated(channel, now)
            self._poke_timer(now + self._hold_s)

    def member_added(self, app_id: str, channel: str, user_id: str) -> None:
        hooks = self._apps.get(app_id)
        if hooks is not None:
            now = self._clock.monotonic()
            self._submit(app_id, hooks.rules.member_added(channel, user_id, now))

    def member_removed(self, app_id: str, channel: str, user_id: str) -> None:
        hooks = self._apps.get(app_id)
        if hooks is not None:
            now = self._clock.monotonic()
            hooks.rules.member_removed(channel, user_id, now)
            self._poke_timer(now + self._hold_s)

    def client_event(
        self,
        app_id: str,
        channel: str,
        event: str,
        data: str,
        socket_id: str,
        user_id: str | None,
    ) -> None:
        if app_id not in self._apps:
            return
        # user_id only on presence channels (§10.3; presence-cache- is a presence channel too).
        if not channel.startswith("presence-"):
            user_id = None
        self._submit(app_id, [ClientEvent(channel, event, data, socket_id, user_id)])

    def cache_miss(self, app_id: str, channel: str) -> None:
        hooks = self._apps.get(app_id)
        if hooks is not None:
            self._submit(app_id, hooks.rules.cache_miss(channel, self._clock.monotonic()))

    def cache_filled(self, app_id: str, channel: str) -> None:
        hooks = self._apps.get(app_id)
        if hooks is not None:
            hooks.rules.cache_filled(channel)

    def subscription_count(self, app_id: str, channel: str, count: int) -> None:
        hooks = self._apps.get(app_id)
        # Opt-in per app and never on presence channels (§12).
        if (
            hooks is None
            or not hooks.app.subscription_count_enabled
            or channel.startswith("presence-")
        ):
            return
        now = self._clock.monotonic()
        self._submit(app_id, hooks.rules.subscription_count(channel, count, now))
        if count > COUNT_THROTTLE_ABOVE:  # only a big channel opens a throttle window
            self._poke_timer(now + self._count_window_s)

    # -- internals ---------------------------------------------------------------------------

    def _poke_timer(self, deadline: float) -> None:
        """Wake the timer only when something is now due before what it is sleeping for."""
        if self._timer_deadline is None or deadline < self._timer_deadline:
            self._timer_deadline = deadline
            self._timer_wake.set()

    def _submit(self, app_id: str, events: list[WebhookEvent]) -> None:
        if self._is_stopped:
            return
        for event in events:
            self._sender.submit(app_id, event)

    async def _run_timer(self) -> None:
        """Sleep until the earliest held deadline (or a new hold), then release what is due."""
        while True:
            try:
                now = self._clock.monotonic()
                deadlines: list[float] = []
                for app_id, hooks in self._apps.items():
                    self._submit(app_id, hooks.rules.due(now))
                    deadline = hooks.rules.next_deadline()
                    if deadline is not None:
                        deadlines.append(deadline)
                self._timer_wake.clear()
                self._timer_deadline = min(deadlines) if deadlines else None
                timeout = (
                    None if self._timer_deadline is None else max(0.0, self._timer_deadline - now)
                )
                try:
                    await asyncio.wait_for(self._timer_wake.wait(), timeout)
                except TimeoutError:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.error("webhook timer failed; continuing", exc_info=True)
                await asyncio.sleep(1.0)
