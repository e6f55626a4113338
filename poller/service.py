"""Composition: settings and injected resources → running sport loops (house style rule 5).

Entry points:

* :func:`running_poller` — poll with any :class:`~poller.publish.Publisher` until the block
  exits (the CLI uses it with :class:`~poller.publish.BusPublisher`);
* :func:`embedded` — what pusherd's lifespan calls in the single-process mode: polls the
  simulator (or the real API when ``RAPIDAPI_KEY`` is in the given mapping) and delivers frames
  through a callback, without Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import httpx

from poller.cache import DataCache, MemoryCache
from poller.catalogue import LeagueCatalogue
from poller.clock import Clock, SystemClock
from poller.config import HostConfig, PollerSettings, load_catalogue, load_settings
from poller.costs import CostLedger, CostSink
from poller.metrics import PollerMetrics
from poller.ondemand import OnDemandBoard
from poller.parts import PollerParts
from poller.poll import SportPoller
from poller.providers.apisports import ApiSportsProvider
from poller.providers.base import Provider
from poller.publish import CallbackPublisher, Publisher
from poller.record import MatchRecorder, RecordingTap
from poller.resilience import Backoff, CircuitBreaker, QuotaBudget, TokenBucket
from poller.scheduler import PollScheduler
from poller.snapshots import MemorySnapshots, SnapshotStore

__all__ = ["RunningPoller", "build_pollers", "cost_ledger", "embedded", "running_poller"]

logger = logging.getLogger("poller.service")


def build_pollers(
    settings: PollerSettings,
    *,
    provider: Provider,
    publisher: Publisher,
    snapshots: SnapshotStore,
    clock: Clock,
    rng: random.Random,
    metrics: PollerMetrics,
    catalogue: LeagueCatalogue | None = None,
    cache: DataCache | None = None,
    on_demand: OnDemandBoard | None = None,
    costs: CostLedger | None = None,
) -> list[SportPoller]:
    """One loop per sport host, each with its own quota, bucket and breaker (quota is per host)."""
    catalogue = catalogue if catalogue is not None else load_catalogue(settings.catalogue_path)
    now = clock.time()
    pollers = []
    for sport in settings.sports:
        parts = PollerParts(
            provider=provider,
            publisher=publisher,
            snapshots=snapshots,
            catalogue=catalogue,
            clock=clock,
            budget=QuotaBudget(daily_limit=settings.daily_limit, reserve=settings.quota_reserve),
            bucket=TokenBucket(
                rate_per_s=settings.minute_limit / 60,
                capacity=max(1.0, min(settings.minute_limit, 5)),
                now=now,
            ),
            breaker=CircuitBreaker(),
            backoff=Backoff(rng=rng),
            cadence=settings.cadences[sport],
            metrics=metrics,
            finished_grace_s=settings.finished_grace_s,
            cache=cache,
            on_demand=on_demand,
            costs=costs,
        )
        pollers.append(SportPoller(sport, parts))
    return pollers


def host_label(host: HostConfig) -> str:
    """The host a call is billed to: the base URL without its scheme."""
    return host.base_url.split("://", 1)[-1].rstrip("/")


def cost_ledger(
    settings: PollerSettings, metrics: PollerMetrics, sink: CostSink | None = None
) -> CostLedger:
    return CostLedger(
        price_per_call=settings.price_per_call,
        hosts={sport: host_label(h) for sport, h in settings.hosts.items()},
        registry=metrics.registry,
        sink=sink,
    )


async def _flush_costs(costs: CostLedger, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        await costs.flush()


@dataclass(frozen=True, slots=True)
class RunningPoller:
    pollers: list[SportPoller]
    metrics: PollerMetrics
    clock: Clock
    #: The read cache the loops fill (None: no cache, and no reference-data refreshes).
    cache: DataCache | None = None
    costs: CostLedger | None = None


@contextlib.asynccontextmanager
async def running_poller(
    settings: PollerSettings,
    *,
    publisher: Publisher,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    http: httpx.AsyncClient | None = None,
    snapshots: SnapshotStore | None = None,
    metrics: PollerMetrics | None = None,
    cache: DataCache | None = None,
    recorder: MatchRecorder | None = None,
    retention_s: float = 365 * 86_400.0,
    tick_s: float = 0.5,
    shutdown_timeout_s: float = 5.0,
    on_demand: OnDemandBoard | None = None,
    cost_sink: CostSink | None = None,
    cost_flush_s: float = 60.0,
) -> AsyncIterator[RunningPoller]:
    """Poll every configured sport until the block exits; resources passed in stay open.

    ``recorder`` (the data API's SQL store) gets every published batch through a
    :class:`~poller.record.RecordingTap`; matches older than ``retention_s`` are pruned from it.
    """
    clock = clock if clock is not None else SystemClock()
    metrics = metrics if metrics is not None else PollerMetrics()
    catalogue = load_catalogue(settings.catalogue_path)
    snapshots = snapshots if snapshots is not None else MemorySnapshots()
    costs = cost_ledger(settings, metrics, cost_sink)
    if recorder is not None:
        tap = RecordingTap(
            recorder=recorder, catalogue=catalogue, clock=clock, retention_s=retention_s
        )
        publisher, snapshots = tap.publisher(publisher), tap.snapshots(snapshots)
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(httpx.AsyncClient())
        provider = ApiSportsProvider(
            client=http,
            hosts=settings.hosts,
            api_key=settings.api_key,
            clock=clock,
            timeout_s=settings.timeout_s,
            max_ids=settings.max_ids_per_call,
            metrics=metrics,
            on_call=costs.called,
        )
        pollers = build_pollers(
            settings,
            provider=provider,
            publisher=publisher,
            snapshots=snapshots,
            clock=clock,
            rng=rng if rng is not None else random.Random(),
            metrics=metrics,
            catalogue=catalogue,
            cache=cache,
            on_demand=on_demand,
            costs=costs,
        )
        for poller in pollers:
            await poller.load()
        scheduler = PollScheduler(pollers, clock=clock, tick_s=tick_s)
        scheduler.start()
        flusher = asyncio.create_task(_flush_costs(costs, cost_flush_s))
        try:
            yield RunningPoller(pollers, metrics, clock, cache, costs)
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await scheduler.stop(shutdown_timeout_s)
            await costs.flush()  # the day's totals lose nothing on a clean shutdown
            for poller in pollers:
                try:
                    await asyncio.wait_for(poller.close(), timeout=shutdown_timeout_s)
                except (TimeoutError, Exception) as exc:
                    logger.warning("%s: unsent changes dropped at shutdown: %r", poller.sport, exc)
            logger.info("poller stopped")


@contextlib.asynccontextmanager
async def embedded(
    deliver: Callable[[str, str, bytes], None],
    *,
    environ: Mapping[str, str] | None = None,
    app_id: str = "1",
    speed: float = 10.0,
    seed: int = 7,
    tick_s: float = 0.25,
    cache: DataCache | None = None,
    recorder: MatchRecorder | None = None,
    retention_s: float = 365 * 86_400.0,
    on_demand: OnDemandBoard | None = None,
    cost_sink: CostSink | None = None,
) -> AsyncIterator[RunningPoller]:
    """The poller inside pusherd's process, delivering ``(app_id, channel, frame)``.

    ``cache`` is the read cache the data API reads (memory on the poller's clock when not
    given); ``recorder`` is its SQL store (see :func:`running_poller`).

    Without ``RAPIDAPI_KEY`` in ``environ`` it starts the simulator on loopback and polls it on
    the simulator's fast virtual clock; with a key it polls the real upstream in real time.
    """
    environ = environ if environ is not None else {}
    publisher = CallbackPublisher(deliver=deliver, app_id=app_id)
    if environ.get("RAPIDAPI_KEY"):
        # No Redis in this mode: the read cache lives in memory, next to its later reader.
        clock = SystemClock()
        async with running_poller(
            load_settings(environ),
            publisher=publisher,
            clock=clock,
            cache=cache if cache is not None else MemoryCache(clock=clock),
            recorder=recorder,
            retention_s=retention_s,
            on_demand=on_demand,
            cost_sink=cost_sink,
        ) as running:
            yield running
        return
    from poller.simulator.running import simulation

    # A lively demo: football every 15 minutes from 12:00 and the day opened at 12:40, so
    # three football matches, a basketball and a baseball game are already under way.
    async with simulation(
        seed=seed, speed=speed, start_offset_s=12 * 3600 + 40 * 60, football_spacing_s=900
    ) as sim:
        settings = load_settings(environ, simulator_url=sim.base_url)
        settings = _demo_limits(settings)
        async with running_poller(
            settings,
            publisher=publisher,
            clock=sim.clock,
            cache=cache if cache is not None else MemoryCache(clock=sim.clock),
            recorder=recorder,
            retention_s=retention_s,
            on_demand=on_demand,
            cost_sink=cost_sink,
            tick_s=tick_s,
        ) as running:
            yield running


def _demo_limits(settings: PollerSettings) -> PollerSettings:
    """The demo account is on a paid plan, so the demo shows live cadence, not Free pacing."""
    from dataclasses import replace

    return replace(settings, daily_limit=7_500, minute_limit=300)
