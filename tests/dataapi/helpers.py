"""Drivers of the data API tests: a day recorded from the simulated upstream, real auth keys."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import Mount

from auth.app import build_auth_app
from auth.channel_auth import AppCredentials
from auth.config import AuthOptions
from auth.keys import issue_key
from auth.pepper import Peppers
from auth.policy import Policy, default_policy
from auth.store import MemoryKeyStore
from dataapi.app import build_data_api
from dataapi.keycache import CachedKeyVerifier
from dataapi.livecache import ParsedOnce
from dataapi.ondemand import OnDemand
from dataapi.ratelimit import MemoryRateLimiter, RateLimiter
from dataapi.reader import SqlMatchReader
from dataapi.resources import DataResources
from dataapi.store import SqlMatchStore
from dataapi.usage import UsageCounter
from poller.cache import MemoryCache, cache_key
from poller.clock import FakeClock
from poller.config import load_catalogue
from poller.record import RecordingTap
from poller.snapshots import MemorySnapshots
from pusherd.data_api import AuthKeyIdentities
from pusherd.protocol.secret import Secret
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

__all__ = ["ApiClock", "Harness", "record_day"]

LEAGUE = "arcadian-premier-division"


class ApiClock:
    """The simulated day's fake clock, with the monotonic reading the limiter and keys need."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    def time(self) -> float:
        return self._clock.time()

    def monotonic(self) -> float:
        return self._clock.time()


async def record_day(
    sim_url: str,
    http: httpx.AsyncClient,
    clock: FakeClock,
    engine: Engine,
    until: float,
    cache: MemoryCache | None = None,
) -> RecordingPublisher:
    """Poll the simulated football day from 11:55 through the tap; returns what was published."""
    clock.set(SAMPLE_DAY + 11 * 3600 + 55 * 60)
    published = RecordingPublisher()
    tap = RecordingTap(
        recorder=SqlMatchStore(engine=engine),
        catalogue=load_catalogue(),
        clock=clock,
        retention_s=30 * 86_400,
    )
    poller = make_poller(
        "football",
        sim_url,
        http,
        clock,
        key=PAID_KEY,
        publisher=tap.publisher(published),
        snapshots=tap.snapshots(MemorySnapshots()),
        cache=cache,
    )
    await drive(poller, clock, until, max_step=60)
    return published


@dataclass
class Harness:
    """The data API over a recorded store and a filled cache, with keys of every tier."""

    app: Starlette
    store: MemoryKeyStore
    keys: dict[str, str]
    clock: FakeClock
    rng: random.Random
    hasher: PasswordHasher
    peppers: Peppers

    @classmethod
    def build(
        cls,
        *,
        engine: Engine,
        cache: MemoryCache,
        clock: FakeClock,
        policy: Policy | None = None,
        limiter: RateLimiter | None = None,
        usage: UsageCounter | None = None,
        auth_options: AuthOptions | None = None,
        on_demand: OnDemand | None = None,
        docs_dir: Path | None = None,
    ) -> Harness:
        policy = policy if policy is not None else default_policy()
        api_clock = ApiClock(clock)
        store = MemoryKeyStore()
        rng = random.Random(11)
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        peppers = Peppers.from_texts("data-api-test-pepper-of-at-least-32-chars")
        auth_app = build_auth_app(
            options=auth_options,
            peppers=peppers,
            store=store,
            policy=policy,
            credentials=AppCredentials(key="app-key", secret=Secret("app-secret")),
            clock=api_clock,
            hasher=hasher,
            rng=rng,
        )
        data_api = build_data_api(
            resources=DataResources(
                sports=("football", "basketball"),
                cache=ParsedOnce(cache, key_of=cache_key),
                history=SqlMatchReader(engine=engine),
                clock=api_clock,
                on_demand=on_demand,
            ),
            # As composed in pusherd: the verified-key cache in front of the auth service's.
            verifier=CachedKeyVerifier(
                AuthKeyIdentities(verifier=auth_app.state.auth_service.verifier, policy=policy),
                clock=api_clock,
                digest_key=rng.randbytes(32),
            ),
            limiter=limiter if limiter is not None else MemoryRateLimiter(clock=api_clock),
            usage=usage,
            docs_dir=docs_dir,
        )
        app = Starlette(routes=[Mount("/api/v1", app=data_api)])
        harness = cls(app, store, {}, clock, rng, hasher, peppers)
        for tier in policy.tiers.names:
            harness.keys[tier] = harness.issue(tier)
        return harness

    def issue(self, tier: str, *, expires_in_s: float | None = None) -> str:
        now = datetime.fromtimestamp(self.clock.time(), UTC)
        issued = issue_key(
            rng=self.rng,
            peppers=self.peppers,
            name=f"{tier} key",
            tier=tier,
            now=now,
            expires_at=None if expires_in_s is None else now + timedelta(seconds=expires_in_s),
        )
        self.store.put(issued.record)
        return issued.plain.reveal()

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("127.0.0.1", 5000)),
            base_url="http://testserver/api/v1",
            headers=headers,
        )
