"""Signed webhook delivery: batching, retries with back-off, a bounded outbox (reference §10).

One worker per target turns its queue into requests (one event each, or a batching window's worth)
and hands each to a delivery task. A body is serialised once with orjson and signed over those
exact bytes (§5.6); retries resend the same bytes, signature and ``X-Pusherd-Webhook-Id``.

:meth:`WebhookSender.submit` never blocks and never allocates past ``max_outbox`` events (queued
plus in flight, over all targets): beyond that, events are dropped, counted and logged at
WARNING. The owner calls :meth:`~WebhookSender.start` and :meth:`~WebhookSender.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import orjson

from pusherd.clock import Clock
from pusherd.config import AppConfig, WebhookTarget
from pusherd.protocol.signatures import sign
from pusherd.webhooks.events import Payload, WebhookEvent

__all__ = ["DEFAULT_RETRY", "ID_HEADER", "RetryPolicy", "WebhookSender"]

logger = logging.getLogger("pusherd.webhooks.sender")

#: Same value on every attempt of one delivery, so receivers can de-duplicate retries.
ID_HEADER = "X-Pusherd-Webhook-Id"
#: How often, at most, overflow of the outbox is logged (the count is exact regardless).
DROP_LOG_INTERVAL_S = 10.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter, for 5 minutes like Pusher (§10.2).

    The n-th retry (n = 0, 1, …) waits ``min(max_delay_s, base_delay_s * 2**n)`` shortened by up
    to ``jitter`` of itself, so consecutive waits still grow by at least ``2 * (1 - jitter)``.
    A retry that would start more than ``give_up_after_s`` after the first attempt is not made.
    """

    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    jitter: float = 0.25
    give_up_after_s: float = 300.0
    request_timeout_s: float = 5.0

    def delay(self, retry_index: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(retry_index, 64))
        return ceiling * (1.0 - self.jitter * rng.random())


#: Pusher's values: 1 s doubling to at most 60 s, for 5 minutes; 5-s request timeout.
DEFAULT_RETRY = RetryPolicy()


@dataclass(slots=True)
class _Target:
    app: AppConfig
    target: WebhookTarget
    is_batching: bool
    slots: asyncio.Semaphore
    queue: deque[Payload] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    worker: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    body: bytes
    headers: dict[str, str]
    event_count: int


class WebhookSender:
    """Delivers events to every target of their app that ``wants`` them.

    Args:
        apps: the apps; those without webhook targets are ignored.
        http: the client every request goes through (closed by its owner, not here).
        clock: ``time()`` stamps ``time_ms``, ``monotonic()`` times the give-up (waits: asyncio).
        rng: jitter and delivery ids.
        max_outbox: events held at most (queued and in flight, over all targets).
        batch_window_s: how long a batching target collects events before one POST.
        max_batch_events: most events in one batched POST.
        max_in_flight: concurrent deliveries (each with its retries) per target.
        retry: back-off, give-up limit and per-request timeout.
    """

    def __init__(
        self,
        *,
        apps: Sequence[AppConfig],
        http: httpx.AsyncClient,
        clock: Clock,
        rng: random.Random,
        max_outbox: int = 10_000,
        batch_window_s: float = 0.05,
        max_batch_events: int = 100,
        max_in_flight: int = 8,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._http = http
        self._clock = clock
        self._rng = rng
        self._max_outbox = max_outbox
        self._batch_window_s = batch_window_s
        self._max_batch_events = max_batch_events
        self._retry = retry
        self._targets: dict[str, list[_Target]] = {}
        for app in apps:
            for target in app.webhooks:
                entry = _Target(app, target, app.webhook_batching, asyncio.Semaphore(max_in_flight))
                self._targets.setdefault(app.app_id, []).append(entry)
        self._deliveries: set[asyncio.Task[None]] = set()
        self._outbox_size = 0
        self._dropped = 0
        self._dropped_logged_at: float | None = None
        self._delivered = 0
        self._given_up = 0
        self._stop_requested = asyncio.Event()
        self._debug = logger.isEnabledFor(logging.DEBUG)

    @property
    def dropped(self) -> int:
        """Events dropped because the outbox was full."""
        return self._dropped

    @property
    def delivered(self) -> int:
        """Events acknowledged with a 2xx."""
        return self._delivered

    @property
    def given_up(self) -> int:
        """Events whose delivery was abandoned after the retry limit."""
        return self._given_up

    @property
    def outbox_size(self) -> int:
        """Events held right now, queued or in flight."""
        return self._outbox_size

    def submit(self, app_id: str, event: WebhookEvent) -> None:
        """Queue ``event`` for each target of the app that wants it; O(targets), never blocks."""
        payload: Payload | None = None
        for entry in self._targets.get(app_id, ()):
            if not entry.target.wants(event.name, event.channel):
                continue
            if self._outbox_size >= self._max_outbox:
                self._drop()
                continue
            if payload is None:
                payload = event.to_payload()
            entry.queue.append(payload)
            self._outbox_size += 1
            entry.wake.set()

    def _drop(self) -> None:
        self._dropped += 1
        now = self._clock.monotonic()
        if self._dropped_logged_at is None or now - self._dropped_logged_at >= DROP_LOG_INTERVAL_S:
            self._dropped_logged_at = now
            logger.warning(
                "webhook outbox full (%d events): dropping; %d dropped so far",
                self._max_outbox,
                self._dropped,
            )

    async def start(self) -> None:
        for targets in self._targets.values():
            for entry in targets:
                entry.worker = asyncio.create_task(self._work(entry))
        if self._targets:
            logger.info("webhook sender started for %d app(s)", len(self._targets))

    async def stop(self, grace_s: float = 5.0) -> None:
        """Send what is queued within ``grace_s``, then cancel what is left and log its size."""
        self._stop_requested.set()
        workers = [e.worker for ts in self._targets.values() for e in ts if e.worker is not None]
        for targets in self._targets.values():
            for entry in targets:
                entry.wake.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        if workers:
            await asyncio.wait(workers, timeout=grace_s)
        if self._deliveries:
            await asyncio.wait(set(self._deliveries), timeout=max(0.0, deadline - loop.time()))
        lost = self._outbox_size
        pending = [task for task in (*workers, *self._deliveries) if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if lost:
            logger.warning("webhook sender stopped with %d event(s) undelivered", lost)
        elif self._targets:
            logger.info("webhook sender stopped")

    async def _work(self, entry: _Target) -> None:
        while True:
            if not entry.queue:
                if self._stop_requested.is_set():
                    return
                entry.wake.clear()
                await entry.wake.wait()
                continue
            if entry.is_batching and len(entry.queue) < self._max_batch_events:
                # Let the batching window fill before taking the events (§10.2); stop cuts it short.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_requested.wait(), self._batch_window_s)
            count = min(len(entry.queue), self._max_batch_events if entry.is_batching else 1)
            events = [entry.queue.popleft() for _ in range(count)]
            try:
                request = self._build(entry, events)
            except Exception:  # a bug of ours: lose these events, keep the worker alive
                logger.error("webhook request could not be built", exc_info=True)
                self._outbox_size -= count
                continue
            try:
                await entry.slots.acquire()
            except asyncio.CancelledError:
                self._outbox_size -= request.event_count
                raise
            task = asyncio.create_task(self._deliver(entry, request))
            self._deliveries.add(task)
            task.add_done_callback(functools.partial(self._finished, entry=entry, request=request))

    def _build(self, entry: _Target, events: list[Payload]) -> _Request:
        # Serialise once, sign those exact bytes, send those bytes on every attempt (§5.6).
        body = orjson.dumps({"time_ms": int(self._clock.time() * 1000), "events": events})
        headers = {
            "Content-Type": "application/json",
            "X-Pusher-Key": entry.app.key,
            "X-Pusher-Signature": sign(entry.app.secret.reveal(), body.decode()),
            ID_HEADER: f"{self._rng.getrandbits(128):032x}",
        }
        return _Request(body, headers, len(events))

    def _finished(self, task: asyncio.Task[None], entry: _Target, request: _Request) -> None:
        self._deliveries.discard(task)
        entry.slots.release()
        self._outbox_size -= request.event_count
        if not task.cancelled() and task.exception() is not None:
            logger.error("webhook delivery crashed", exc_info=task.exception())

    async def _deliver(self, entry: _Target, request: _Request) -> None:
        retry = self._retry
        first_attempt_at = self._clock.monotonic()
        retry_index = 0
        while True:
            if await self._attempt(entry, request):
                self._delivered += request.event_count
                return
            delay = retry.delay(retry_index, self._rng)
            retry_index += 1
            if self._clock.monotonic() + delay - first_attempt_at > retry.give_up_after_s:
                self._given_up += request.event_count
                logger.warning(
                    "webhook %s to app %s target %s abandoned after %d attempt(s)",
                    request.headers[ID_HEADER],
                    entry.app.app_id,
                    _safe_url(entry.target.url),
                    retry_index,
                )
                return
            await asyncio.sleep(delay)

    async def _attempt(self, entry: _Target, request: _Request) -> bool:
        """One POST; True for any 2xx (§10.2). Transport errors are a failed attempt."""
        try:
            response = await self._http.post(
                entry.target.url,
                content=request.body,
                headers=request.headers,
                timeout=self._retry.request_timeout_s,
            )
        except httpx.HTTPError as exc:
            if self._debug:
                logger.debug("webhook %s failed: %r", request.headers[ID_HEADER], exc)
            return False
        if self._debug:
            logger.debug("webhook %s answered %d", request.headers[ID_HEADER], response.status_code)
        return 200 <= response.status_code < 300


def _safe_url(url: str) -> str:
    """The URL without user info or query, which may carry the receiver's credentials."""
    return str(httpx.URL(url).copy_with(userinfo=b"", query=None, fragment=None))
