"""The collaborators of one sport's polling loop, built once in :mod:`poller.service`.

Kept apart from :mod:`poller.poll` so that the loop's module holds the loop, and so that the
service and the tests can assemble a loop's parts without reading the loop itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from poller.cache import DataCache
from poller.catalogue import LeagueCatalogue
from poller.clock import Clock
from poller.costs import CostLedger
from poller.metrics import PollerMetrics
from poller.ondemand import OnDemandBoard
from poller.orchestrator import PREFETCH_OFFSETS_S
from poller.plan import Cadence
from poller.providers.base import Provider
from poller.publish import Publisher
from poller.refplan import RefreshCadence
from poller.resilience import Backoff, CircuitBreaker, QuotaBudget, TokenBucket
from poller.routing import RoutingOptions
from poller.snapshots import SnapshotStore

__all__ = ["PollerParts"]


@dataclass(slots=True)
class PollerParts:
    """The collaborators of one sport's loop (built once in :mod:`poller.service`)."""

    provider: Provider
    publisher: Publisher
    snapshots: SnapshotStore
    catalogue: LeagueCatalogue
    clock: Clock
    budget: QuotaBudget
    bucket: TokenBucket
    breaker: CircuitBreaker
    backoff: Backoff
    cadence: Cadence
    metrics: PollerMetrics
    routing: RoutingOptions = field(default_factory=RoutingOptions)
    finished_grace_s: float = 600.0
    cache: DataCache | None = None
    #: Reference-data refreshes on spare quota (needs ``cache``); None turns them off.
    refresh: RefreshCadence | None = field(default_factory=RefreshCadence)
    #: Data API misses to fetch by id (:mod:`poller.ondemand`); None: no on-demand reads.
    on_demand: OnDemandBoard | None = None
    #: Kick-off prefetch moments (seconds before); empty turns prefetching off.
    prefetch_offsets_s: tuple[float, ...] = PREFETCH_OFFSETS_S
    #: Counts every upstream call's cost per host, endpoint and priority.
    costs: CostLedger | None = None
