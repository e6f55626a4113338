"""Composition of the data API (``/api/v1``) on pusherd's port: the one place that joins
``dataapi`` to the auth service, the poller's read cache and the match store.

``dataapi`` knows these only as Protocols; this module supplies them:

* :class:`AuthKeyIdentities`: the auth service's key verification and the tier policy, as the
  data API's :class:`~dataapi.access.KeyVerifier` (errors translated where they enter);
* the read cache: the embedded poller's (memory) or, without an embedded poller, the Redis
  cache a separate poller fills;
* the match store on ``DATABASE_URL`` (shared with the auth service, its own migration chain)
  or its own SQLite file, written by the poller through :mod:`poller.record`.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis
from starlette.routing import Mount

from auth.errors import RateLimited, Unauthenticated, Unavailable
from auth.keys import ApiKey
from auth.policy import Policy
from auth.verifier import KeyVerifier as AuthVerifier
from dataapi.access import KeyIdentity
from dataapi.app import build_data_api
from dataapi.costs import SqlCostStore
from dataapi.errors import Forbidden, TooManyRequests
from dataapi.errors import Unauthenticated as ApiUnauthenticated
from dataapi.errors import Unavailable as ApiUnavailable
from dataapi.keycache import CachedKeyVerifier
from dataapi.livecache import ParsedOnce
from dataapi.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from dataapi.reader import SqlMatchReader
from dataapi.resources import DataResources
from dataapi.store import DEFAULT_DATABASE_URL, SqlMatchStore, open_match_engine
from dataapi.usage import MemoryUsageSink, RedisUsageSink, UsageCounter, UsageSink
from dataapi.usage_sql import UsageRollup
from poller.cache import DataCache, MemoryCache, RedisCache, cache_key
from poller.ondemand import MemoryOnDemand, OnDemandBoard, RedisOnDemand
from pusherd.app import Companion
from pusherd.clock import Clock
from pusherd.config import Settings
from pusherd.embedded import SITE_DIST_DIR
from pusherd.key_usage import KeyConnectionSampler
from pusherd.publisher import EventPublisher

__all__ = [
    "AuthKeyIdentities",
    "DataApiExtension",
    "data_api_extension",
    "migrate_match_store",
]

DEFAULT_RETENTION_DAYS = 365


def _match_store_url(environ: Mapping[str, str]) -> str:
    return environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL


def migrate_match_store(environ: Mapping[str, str]) -> None:
    """Bring the match store to the latest schema once, before workers start: workers
    migrating a fresh SQLite file at the same moment race ("table dataapi_alembic_version
    already exists") and the loser dies at start, as with the key store."""
    with open_match_engine(_match_store_url(environ)):
        pass


class AuthKeyIdentities:
    """The auth service's verifier and tiers behind the data API's one-method seam."""

    def __init__(self, *, verifier: AuthVerifier, policy: Policy) -> None:
        self._verifier = verifier
        self._policy = policy

    async def identify(self, presented: str, *, client_address: str) -> KeyIdentity:
        try:
            record = await self._verifier.verify(presented, client_address=client_address)
        except Unauthenticated as exc:
            raise ApiUnauthenticated(exc.reason, exc.message) from exc
        except RateLimited as exc:
            raise TooManyRequests(
                exc.message, retry_after_s=int(exc.retry_after_s + 0.999), reason=exc.reason
            ) from exc
        except Unavailable as exc:
            raise ApiUnavailable(exc.message) from exc
        tier = self._policy.tiers.get(record.tier)
        if tier is None:
            raise Forbidden("unknown_tier", "the key's tier is not configured")
        return KeyIdentity(
            key_id=record.key_id,
            tier=tier.name,
            requests_per_minute=tier.rest_requests_per_minute,
            resources=tier.data_api.resources,
            history_days=tier.data_api.history_days,
            valid_until_s=_valid_until_s(record),
        )


def _valid_until_s(record: ApiKey) -> float | None:
    """When the key stops being usable: its expiry or a revocation set for later."""
    ends = [when.timestamp() for when in (record.expires_at, record.revoked_at) if when]
    return min(ends) if ends else None


@dataclass(frozen=True, slots=True)
class DataApiExtension:
    mount: Mount
    companion: Companion
    #: For the embedded poller: the cache it fills and the store it records into.
    cache: DataCache
    recorder: SqlMatchStore
    retention_s: float
    database_url: str
    usage: UsageCounter
    #: Where reads of unknown matches queue for the poller (in memory when it is embedded).
    on_demand: OnDemandBoard
    costs: SqlCostStore


def data_api_extension(
    environ: Mapping[str, str],
    settings: Settings,
    *,
    verifier: AuthVerifier,
    policy: Policy,
    clock: Clock,
    resources: contextlib.ExitStack,
    sports: tuple[str, ...],
    rng: random.Random | None = None,
) -> DataApiExtension:
    """The ``/api/v1`` mount; its store's engine stays open until ``resources`` closes.

    Raises:
        ValueError: ``DATA_API_RETENTION_DAYS`` is not a positive integer.
    """
    raw_days = environ.get("DATA_API_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS))
    if not (raw_days.isascii() and raw_days.isdigit()) or int(raw_days) < 1:
        raise ValueError(f"DATA_API_RETENTION_DAYS must be a positive integer, got {raw_days!r}")
    database_url = _match_store_url(environ)
    engine = resources.enter_context(open_match_engine(database_url))
    redis = None
    cache: DataCache = MemoryCache(clock=clock)
    limiter: RateLimiter = MemoryRateLimiter(clock=clock)
    sink: UsageSink = MemoryUsageSink()
    on_demand: OnDemandBoard = MemoryOnDemand(clock=clock)
    if settings.redis_url is not None:
        redis = aioredis.from_url(settings.redis_url.reveal())
        limiter = RedisRateLimiter(redis=redis, prefix=f"{settings.redis_prefix}api:")
        sink = RedisUsageSink(redis=redis, prefix=f"{settings.redis_prefix}api:")
        if not settings.run_poller:  # a separate poller process fills the shared cache
            cache = RedisCache(redis=redis, prefix=settings.redis_prefix)
            on_demand = RedisOnDemand(redis=redis, prefix=settings.redis_prefix)
    usage = UsageCounter(sink=sink, clock=clock)
    app = build_data_api(
        resources=DataResources(
            sports=sports,
            cache=ParsedOnce(cache, key_of=cache_key),
            history=SqlMatchReader(engine=engine),
            clock=clock,
            on_demand=on_demand,
        ),
        verifier=CachedKeyVerifier(
            AuthKeyIdentities(verifier=verifier, policy=policy),
            clock=clock,
            digest_key=(rng or random.SystemRandom()).randbytes(32),
        ),
        limiter=limiter,
        usage=usage,
        docs_dir=SITE_DIST_DIR / "api-docs",
    )

    rollup = UsageRollup(engine=engine, sink=sink, clock=clock)

    @contextlib.asynccontextmanager
    async def running(publisher: EventPublisher) -> AsyncIterator[None]:
        sampler = KeyConnectionSampler(
            adapter=publisher.adapter,
            app_ids=[app.app_id for app in settings.apps],
            usage=usage,
            clock=clock,
            redis=redis,
            prefix=f"{settings.redis_prefix}api:",
        )
        try:
            # On the way out, in order: the last sample, the last flush to Redis, the last
            # roll-up into SQL, and only then Redis closes.
            async with rollup.running(), usage.running(), sampler.running():
                yield
        finally:
            if redis is not None:
                await redis.aclose()

    return DataApiExtension(
        mount=Mount("/api/v1", app=app),
        companion=running,
        cache=cache,
        recorder=SqlMatchStore(engine=engine),
        retention_s=int(raw_days) * 86_400.0,
        database_url=database_url,
        usage=usage,
        on_demand=on_demand,
        costs=SqlCostStore(engine=engine),
    )
