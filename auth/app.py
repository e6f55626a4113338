"""Composition: :func:`build_auth_app` wires the collaborators into a Starlette app.

The routes sit at their final paths, so the app works both mounted at the root of the pusherd
app (the embedded default) and served on its own (``python -m auth serve``). Starlette does not
run the lifespan of a mounted sub-app: a host that mounts this app and passes ``redis`` must
enter ``app.state.auth_service.running()`` from its own lifespan (it starts the revocation
listener); without Redis there is nothing to start.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from auth.cache import VerificationCache
from auth.channel_auth import AppCredentials
from auth.clock import Clock
from auth.config import AuthOptions
from auth.endpoints import AuthEndpoints
from auth.grants import GrantRegistry, MemoryGrants, RedisGrants
from auth.pepper import Peppers
from auth.policy import Policy
from auth.ratelimit import FailureLimiter
from auth.revocation import RevocationListener
from auth.revocation_poll import RevocationPoller, RevocationSource
from auth.sql import SqlKeyStore
from auth.store import KeyStore
from auth.verifier import KeyVerifier

__all__ = ["AuthService", "build_auth_app"]

_DIGEST_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class AuthService:
    """What a host needs from a built auth app: its grants, verifier and lifecycle."""

    verifier: KeyVerifier
    grants: GrantRegistry
    redis: Redis | None
    redis_prefix: str
    clock: Clock
    #: Read every ``revocation_poll_s`` when there is no Redis to announce revocations.
    revocation_source: RevocationSource | None = None
    revocation_poll_s: float = 0.0

    @contextlib.asynccontextmanager
    async def running(
        self,
        *,
        on_revoked: Callable[[str], None] | None = None,
        on_tier_changed: Callable[[str, str], None] | None = None,
    ) -> AsyncIterator[RevocationListener | None]:
        """Listen for revocations and tier changes while open: Redis announcements, else a
        database poll.

        Args:
            on_revoked: also called with each revoked key id (e.g. to close its sockets).
            on_tier_changed: also called with a key id and its new tier.
        """
        if self.redis is None:
            if self.revocation_source is None or self.revocation_poll_s <= 0:
                yield None
                return
            async with RevocationPoller(
                source=self.revocation_source,
                cache=self.verifier.cache,
                clock=self.clock,
                interval_s=self.revocation_poll_s,
                on_revoked=on_revoked,
                on_tier_changed=on_tier_changed,
            ):
                yield None
            return
        async with RevocationListener(
            redis=self.redis,
            prefix=self.redis_prefix,
            cache=self.verifier.cache,
            on_revoked=on_revoked,
            on_tier_changed=on_tier_changed,
        ) as listener:
            yield listener


def build_auth_app(
    *,
    store: KeyStore,
    policy: Policy,
    credentials: AppCredentials,
    clock: Clock,
    peppers: Peppers,
    hasher: PasswordHasher,
    rng: random.Random,
    redis: Redis | None = None,
    grants: GrantRegistry | None = None,
    options: AuthOptions | None = None,
) -> Starlette:
    """The auth endpoints of reference §14.4–§14.5 as an ASGI app.

    Args:
        store: where API keys live (``SqlKeyStore`` over the caller's engine, or memory).
        policy: tiers and channel rules.
        credentials: the Pusher app key and secret that sign (and the encryption master key).
        clock: wall time for key expiry, monotonic time for the cache and the failure limiter.
        peppers: the server-side keys of the stored key hashes (``auth.pepper``).
        hasher: the argon2 ``PasswordHasher`` that verifies legacy keys until re-hashed.
        rng: the source of the per-process cache digest key (``random.SystemRandom()`` in
            production).
        redis: enables cross-node revocation and shared socket grants; the caller closes it.
        grants: where socket → key grants go; defaults to Redis when given, else memory.
        options: header, CORS, TTLs and failure limits.

    Returns:
        A Starlette app; ``app.state.auth_service`` is the :class:`AuthService`.
    """
    options = options if options is not None else AuthOptions()
    cache = VerificationCache(
        digest_key=rng.randbytes(_DIGEST_KEY_BYTES), ttl_s=options.cache_ttl_s
    )
    verifier = KeyVerifier(
        store=store,
        peppers=peppers,
        hasher=hasher,
        cache=cache,
        clock=clock,
        address_limiter=FailureLimiter(options.address_limits),
        key_limiter=FailureLimiter(options.key_limits),
    )
    if grants is None:
        if redis is not None:
            grants = RedisGrants(
                redis=redis, prefix=options.redis_prefix, ttl_s=options.grant_ttl_s
            )
        else:
            grants = MemoryGrants(clock=clock, ttl_s=options.grant_ttl_s)
    service = AuthService(
        verifier=verifier,
        grants=grants,
        redis=redis,
        redis_prefix=options.redis_prefix,
        clock=clock,
        revocation_source=store if isinstance(store, SqlKeyStore) else None,
        revocation_poll_s=options.revocation_poll_s,
    )
    endpoints = AuthEndpoints(
        verifier=verifier, policy=policy, credentials=credentials, grants=grants, options=options
    )
    routes = [
        Route("/broadcasting/auth", endpoints.channel_auth, methods=["POST"]),
        Route("/broadcasting/user-auth", endpoints.user_auth, methods=["POST"]),
    ]
    middleware = []
    if options.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(options.cors_origins),
                allow_methods=["POST"],
                allow_headers=sorted(
                    {
                        "Authorization",
                        "Content-Type",
                        "X-CSRF-TOKEN",
                        "X-Socket-Id",
                        options.key_header,
                    }
                ),
                max_age=600,
            )
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with service.running():
            yield

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.auth_service = service
    return app
