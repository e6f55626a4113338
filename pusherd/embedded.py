"""The embedded default: what ``pusherd`` runs beside the Pusher server in one process.

The auth service (``auth/``) answers ``/broadcasting/auth`` and ``/broadcasting/user-auth`` on the
same port, so a browser's Echo needs one host; the poller (``poller/``) feeds simulated or real
match updates. Both are separate packages that know nothing of the server; only this module
(used by ``__main__``) puts them together.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import redis.asyncio as aioredis
import sqlalchemy as sa
from argon2 import PasswordHasher
from starlette.routing import BaseRoute, Mount

from auth.app import AuthService, build_auth_app
from auth.channel_auth import AppCredentials
from auth.config import load_peppers, read_policy
from auth.config import load_settings as load_auth_settings
from auth.grants import GrantRegistry
from auth.keys import issue_key
from auth.policy import Policy
from auth.sql import create_engine_for_url, open_sql_key_store
from auth.verifier import KeyVerifier
from poller.cache import DataCache
from poller.costs import CostSink
from poller.lease import RedisLease
from poller.ondemand import OnDemandBoard
from poller.record import MatchRecorder
from pusherd.app import Companion
from pusherd.clock import Clock
from pusherd.config import Settings
from pusherd.hooks import api_key_channel
from pusherd.pollerhealth import poller_freshness
from pusherd.pollerlease import leased_pollers
from pusherd.publisher import EventPublisher
from pusherd.readiness import Check, Readiness, sql_check
from pusherd.site import site_routes

__all__ = [
    "SITE_DIST_DIR",
    "AuthExtension",
    "GrantQuota",
    "auth_extension",
    "migrate_auth_database",
    "poller_companion",
    "scoreboard_routes",
]

#: Where ``npm run build`` puts the scoreboard page (clients/js-example).
SITE_DIST_DIR = Path(__file__).resolve().parents[1] / "clients" / "js-example" / "dist"

_V = TypeVar("_V")


class GrantQuota:
    """pusherd's :class:`~pusherd.hooks.KeyQuota` answered from the auth service's grants.

    It also remembers the keys revoked while this node runs, for as long as a grant lives: a
    token signed before the revocation for a socket that had not subscribed yet then meets a
    limit of 0 (4004) instead of a channel, so no old token works after ``keys revoke``.
    Likewise for a tier change (``keys set-tier``): a grant that names another tier than the
    key's new one was signed under the old tier and meets a limit of 0.
    """

    def __init__(self, grants: GrantRegistry, *, clock: Clock, remember_s: float) -> None:
        self._grants = grants
        self._clock = clock
        self._remember_s = remember_s
        self._revoked: dict[str, float] = {}  # key id → monotonic deadline, oldest first
        self._tiers: dict[str, tuple[str, float]] = {}  # key id → (new tier, deadline)

    def revoked(self, key_id: str) -> None:
        now = self._clock.monotonic()
        _expire(self._revoked, lambda deadline: deadline, now)
        self._revoked.pop(key_id, None)
        self._revoked[key_id] = now + self._remember_s

    def tier_changed(self, key_id: str, tier: str) -> None:
        now = self._clock.monotonic()
        _expire(self._tiers, lambda entry: entry[1], now)
        self._tiers.pop(key_id, None)
        self._tiers[key_id] = (tier, now + self._remember_s)

    async def key_limit(self, socket_id: str) -> tuple[str, int] | None:
        grant = await self._grants.lookup(socket_id)
        if grant is None:
            return None
        now = self._clock.monotonic()
        deadline = self._revoked.get(grant.key_id)
        if deadline is not None and deadline > now:
            return grant.key_id, 0
        changed = self._tiers.get(grant.key_id)
        if changed is not None and changed[1] > now and changed[0] != grant.tier:
            return grant.key_id, 0  # signed under the key's old tier
        return grant.key_id, grant.max_connections


def _expire(entries: dict[str, _V], deadline_of: Callable[[_V], float], now: float) -> None:
    """Drop entries whose deadline passed; ``entries`` is in insertion (= deadline) order."""
    while entries:
        oldest = next(iter(entries))
        if deadline_of(entries[oldest]) > now:
            break
        del entries[oldest]


@dataclass(frozen=True, slots=True)
class AuthExtension:
    mount: Mount
    companion: Companion
    key_quota: GrantQuota
    database_url: str
    #: A fresh top-tier key for the demo (shown once, valid for a day), when one was asked for.
    demo_key: str | None
    #: What the data API (``/api/v1``) checks keys and tiers with.
    verifier: KeyVerifier
    policy: Policy
    #: Readiness: the key store's database answers.
    sql_ready: Check


def migrate_auth_database(environ: Mapping[str, str]) -> None:
    """Bring the API-key database to the latest schema once, before workers start: N workers
    migrating a fresh database at the same moment race (SQLite: "table alembic_version
    already exists"), and the loser dies at start."""
    with open_sql_key_store(load_auth_settings(environ).database_url):
        pass


def auth_extension(
    environ: Mapping[str, str],
    settings: Settings,
    *,
    clock: Clock,
    rng: random.Random,
    resources: contextlib.ExitStack,
    has_demo_key: bool = False,
) -> AuthExtension:
    """The auth app for pusherd's first app, its key store open until ``resources`` closes.

    Raises:
        ValueError: an auth setting that cannot be used (the message names it).
    """
    auth_settings = load_auth_settings(environ)
    app = settings.apps[0]
    credentials = AppCredentials(
        key=app.key,
        secret=app.secret,
        encryption_master_key_base64=auth_settings.encryption_master_key_base64,
    )
    peppers = load_peppers(auth_settings, rng=rng)
    store = resources.enter_context(open_sql_key_store(auth_settings.database_url))
    # The probe's own engine: a pool the key lookups share could queue the probe behind them.
    probe_engine = create_engine_for_url(auth_settings.database_url)
    resources.callback(probe_engine.dispose)

    def ping_sql() -> None:
        with probe_engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    policy = read_policy(auth_settings.policy_file)
    demo_key = None
    if has_demo_key:
        # The demo viewer sees everything: the top tier, so presence channels work too.
        top_tier = policy.tiers.names[-1]
        now = datetime.fromtimestamp(clock.time(), UTC)
        issued = issue_key(
            rng=rng,
            peppers=peppers,
            name="Demo viewer",
            tier=top_tier,
            now=now,
            expires_at=now + timedelta(days=1),
        )
        store.put(issued.record)
        demo_key = issued.plain.reveal()
    redis_url = auth_settings.redis_url or (
        settings.redis_url.reveal() if settings.redis_url is not None else None
    )
    redis = None if redis_url is None else aioredis.from_url(redis_url)
    auth_app = build_auth_app(
        store=store,
        policy=policy,
        credentials=credentials,
        clock=clock,
        peppers=peppers,
        hasher=PasswordHasher(),
        rng=rng,
        redis=redis,
        options=auth_settings.options,
    )
    service: AuthService = auth_app.state.auth_service
    quota = GrantQuota(service.grants, clock=clock, remember_s=auth_settings.options.grant_ttl_s)

    @contextlib.asynccontextmanager
    async def running(publisher: EventPublisher) -> AsyncIterator[None]:
        def on_revoked(key_id: str) -> None:
            # Issue 10 item 7: every node hears the announcement and closes (4009) the
            # sockets the key authorised here; old tokens then meet a limit of 0.
            quota.revoked(key_id)
            publisher.terminate_channel(app, api_key_channel(key_id))

        def on_tier_changed(key_id: str, tier: str) -> None:
            """A tier change closes (4009) every socket the key authorised, as a revocation.

            Why not only the sockets on channels the new tier forbids: Pusher has no
            server-initiated unsubscribe frame, so "selective" still means closing a socket,
            and deciding which would need every node to re-run the channel rules against each
            socket's subscriptions, which live in the adapters, not here. Closing them all is
            protocol-conformant and cannot leave a forbidden subscription behind; the client
            reconnects and authorises again under the new tier, which also applies the new
            tier's connection cap (4004 beyond it). Tokens signed under the old tier for
            sockets that had not subscribed yet meet a limit of 0 (``GrantQuota``).
            """
            quota.tier_changed(key_id, tier)
            publisher.terminate_channel(app, api_key_channel(key_id))

        try:
            async with service.running(on_revoked=on_revoked, on_tier_changed=on_tier_changed):
                yield
        finally:
            if redis is not None:
                await redis.aclose()

    return AuthExtension(
        mount=Mount("/", app=auth_app),
        companion=running,
        key_quota=quota,
        database_url=auth_settings.database_url,
        demo_key=demo_key,
        verifier=service.verifier,
        policy=policy,
        sql_ready=sql_check(ping_sql),
    )


def poller_companion(
    environ: Mapping[str, str],
    settings: Settings,
    *,
    cache: DataCache | None = None,
    recorder: MatchRecorder | None = None,
    retention_s: float = 365 * 86_400.0,
    on_demand: OnDemandBoard | None = None,
    cost_sink: CostSink | None = None,
    readiness: Readiness | None = None,
    stale_after_intervals: float = 3.0,
    holder: str = "pusherd",
) -> Companion:
    """The poller, publishing into pusherd in-process (two hops, no Redis needed).

    Without ``RAPIDAPI_KEY`` it plays simulated matches from the built-in fake upstream;
    with one it polls the real API. Frames are built once by the poller and enter through the
    same publisher as HTTP triggers, so cache channels hold the latest score. ``cache`` and
    ``recorder`` are the data API's read cache and match store, which the poller fills. With
    ``readiness``, ``/ready`` fails while a sport in play has no successful live poll for
    ``stale_after_intervals`` of its live cadence. With the Redis adapter (many workers or
    nodes), a Redis lease per sport decides which process — ``holder`` — polls it
    (:mod:`pusherd.pollerlease`).
    """
    from poller.service import embedded  # the poller is only loaded when it runs

    apps_by_id = {app.app_id: app for app in settings.apps}
    speed_text = environ.get("PUSHERD_DEMO_SPEED", "20")
    try:
        speed = float(speed_text)
    except ValueError:
        raise ValueError(f"PUSHERD_DEMO_SPEED must be a number, got {speed_text!r}") from None
    if not 0 < speed <= 1000:
        raise ValueError(f"PUSHERD_DEMO_SPEED must be in (0, 1000], got {speed_text!r}")
    app_id = settings.apps[0].app_id

    @contextlib.asynccontextmanager
    async def running(publisher: EventPublisher) -> AsyncIterator[None]:
        def deliver(target_app_id: str, channel: str, frame: bytes) -> None:
            publisher.publish(apps_by_id[target_app_id], channel, frame)

        def run_embedded(env: Mapping[str, str]) -> contextlib.AbstractAsyncContextManager[Any]:
            return embedded(
                deliver,
                environ=env,
                app_id=app_id,
                speed=speed,
                cache=cache,
                recorder=recorder,
                retention_s=retention_s,
                on_demand=on_demand,
                cost_sink=cost_sink,
            )

        if settings.adapter == "redis" and settings.redis_url is not None:
            client = aioredis.from_url(settings.redis_url.reveal())
            sports = environ.get("POLLER_SPORTS", "football,basketball,baseball").split(",")
            try:
                async with leased_pollers(
                    lease_for=lambda sport: RedisLease(
                        client, key=f"{settings.redis_prefix}poller:lease:{sport}", holder=holder
                    ),
                    sports=[sport.strip() for sport in sports if sport.strip()],
                    run=run_embedded,
                    environ=environ,
                    readiness=readiness,
                ):
                    yield
            finally:
                await client.aclose()
            return
        async with run_embedded(environ) as poller:
            if readiness is not None:
                readiness.add(
                    "poller",
                    poller_freshness(
                        poller.pollers,
                        registry=poller.metrics.registry,
                        clock=poller.clock,
                        intervals=stale_after_intervals,
                    ),
                )
            try:
                yield
            finally:
                if readiness is not None:
                    readiness.remove("poller")

    return running


def scoreboard_routes(environ: Mapping[str, str], settings: Settings) -> list[BaseRoute]:
    """The demo scoreboard page at ``/`` and the settings it reads at ``/demo/config.json``.

    The page connects back to the host and port it was served from, so one build works on any
    address; it must come before the auth mount, which answers every other path.
    """
    sports = environ.get("POLLER_SPORTS", "football,basketball,baseball")
    client_config: dict[str, object] = {
        "key": settings.apps[0].key,
        "wsHost": None,
        "wsPort": None,
        "wsPath": settings.path_prefix,
        "authEndpoint": "/broadcasting/auth",
        "sports": [sport.strip() for sport in sports.split(",") if sport.strip()],
    }
    return site_routes(dist_dir=SITE_DIST_DIR, client_config=client_config)
