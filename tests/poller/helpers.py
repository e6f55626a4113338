"""Test doubles and drivers shared by the poller's I/O tests (real simulator, real Redis)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import httpx

from poller.cache import DataCache
from poller.clock import FakeClock
from poller.config import HostConfig, Secret, load_catalogue
from poller.costs import CostLedger
from poller.metrics import PollerMetrics
from poller.ondemand import OnDemandBoard
from poller.orchestrator import PREFETCH_OFFSETS_S
from poller.parts import PollerParts
from poller.plan import DEFAULT_CADENCES
from poller.poll import SportPoller
from poller.providers.apisports import ApiSportsProvider
from poller.publish import Publisher, PublishError
from poller.refplan import RefreshCadence
from poller.resilience import Backoff, CircuitBreaker, QuotaBudget, TokenBucket
from poller.routing import Outbound, RoutingOptions
from poller.snapshots import MemorySnapshots, SnapshotStore


class RecordingPublisher:
    """Keeps what was published; can be told to fail, like a Redis that went away."""

    def __init__(self) -> None:
        self.messages: list[Outbound] = []
        self.is_down = False

    async def publish(self, messages: Sequence[Outbound]) -> None:
        if self.is_down:
            raise PublishError("down")
        self.messages.extend(messages)

    def on(self, channel: str, event: str | None = None) -> list[Outbound]:
        return [
            m for m in self.messages if m.channel == channel and (event is None or m.event == event)
        ]


def make_poller(
    sport: str,
    url: str,
    http: httpx.AsyncClient,
    clock: FakeClock,
    *,
    key: str,
    publisher: Publisher,
    snapshots: SnapshotStore | None = None,
    daily_limit: int = 7_500,
    minute_limit: int = 300,
    metrics: PollerMetrics | None = None,
    routing: RoutingOptions | None = None,
    cache: DataCache | None = None,
    refresh: RefreshCadence | None = None,
    on_demand: OnDemandBoard | None = None,
    costs: CostLedger | None = None,
    prefetch_offsets_s: tuple[float, ...] = PREFETCH_OFFSETS_S,
) -> SportPoller:
    metrics = metrics or PollerMetrics()
    provider = ApiSportsProvider(
        client=http,
        hosts={sport: HostConfig(sport, f"{url}/{sport}")},
        api_key=Secret(key),
        clock=clock,
        timeout_s=2.0,
        metrics=metrics,
        on_call=costs.called if costs is not None else None,
    )
    parts = PollerParts(
        provider=provider,
        publisher=publisher,
        snapshots=snapshots if snapshots is not None else MemorySnapshots(),
        catalogue=load_catalogue(),
        clock=clock,
        budget=QuotaBudget(daily_limit=daily_limit, reserve=5),
        bucket=TokenBucket(
            rate_per_s=minute_limit / 60, capacity=min(minute_limit, 5), now=clock.time()
        ),
        breaker=CircuitBreaker(),
        backoff=Backoff(rng=random.Random(1)),
        cadence=DEFAULT_CADENCES[sport],
        metrics=metrics,
        routing=routing or RoutingOptions(),
        cache=cache,
        refresh=refresh if refresh is not None else RefreshCadence(),
        on_demand=on_demand,
        prefetch_offsets_s=prefetch_offsets_s,
        costs=costs,
    )
    return SportPoller(sport, parts)


async def drive(
    poller: SportPoller,
    clock: FakeClock,
    until: float,
    *,
    min_step: float = 0.0,
    max_step: float = 3600.0,
) -> int:
    """Step the loop on the fake clock until ``until``; returns the number of steps."""
    steps = 0
    while clock.time() < until:
        delay = await poller.step()
        steps += 1
        clock.advance(min(max(delay, min_step, 0.01), max_step, max(0.01, until - clock.time())))
    return steps
