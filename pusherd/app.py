"""Composition: the one place where pusherd's parts are built and wired (house rule 5).

:func:`build_app` returns the Starlette app serving the HTTP API; its lifespan creates the adapter
and the WebSocket endpoint and puts them in the lifespan state, where uvicorn hands them to
:class:`~pusherd.transport.websocket.PusherWebSocketProtocol` for every upgrade.
:func:`server_config` pairs the two on one port.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import redis.asyncio as aioredis
import uvicorn
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from pusherd.adapters.base import Adapter
from pusherd.adapters.local import LocalAdapter
from pusherd.adapters.redis import RedisAdapter
from pusherd.clock import Clock, IdFactory
from pusherd.config import Settings
from pusherd.frontdoor import FrontDoorStats, front_door_protocol
from pusherd.handover import presence_leave_grace
from pusherd.hooks import KeyQuota
from pusherd.http.context import HTTP_STATE_KEY, HttpContext, json_response
from pusherd.http.health import READINESS_STATE_KEY
from pusherd.http.metrics import METRICS_STATE_KEY, MetricsAccess
from pusherd.http.routes import api_routes
from pusherd.logs import AccessLog
from pusherd.looplag import LoopLagMonitor
from pusherd.metrics import ServerCollector
from pusherd.protocol.bus import bus_stream
from pusherd.publisher import EventPublisher
from pusherd.readiness import Readiness, redis_check
from pusherd.redis_feed import RedisFeed
from pusherd.tls import ReloadableTls
from pusherd.transport.endpoint import WebSocketEndpoint
from pusherd.transport.websocket import ENDPOINT_STATE_KEY, PusherWebSocketProtocol
from pusherd.webhooks import WebhookDispatcher

__all__ = ["build_app", "server_config"]

#: Connections the node's one Redis client (adapter and feed) may hold at once, and how long
#: a command waits for one.
REDIS_POOL_SIZE = 64
REDIS_POOL_WAIT_S = 10.0

#: Something started beside the server (the embedded poller, the auth service's listener);
#: given the publisher that outside events enter by, it returns an async context manager that
#: runs while the server runs.
Companion = Callable[[EventPublisher], contextlib.AbstractAsyncContextManager[None]]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answer in JSON like every other API error."""
    assert isinstance(exc, HTTPException)
    return json_response({"error": exc.detail}, status=exc.status_code)


def _redis_feed(
    settings: Settings, context: HttpContext, rng: random.Random, redis: Redis, node_id: str
) -> RedisFeed:
    """The feed of bus envelopes and Laravel broadcasts, on the node's one Redis client."""
    return RedisFeed(
        redis=redis,
        publisher=context.publisher,
        apps_by_id=context.apps_by_id,
        bus_stream=bus_stream(settings.redis_prefix),
        laravel_prefix=settings.laravel_redis_prefix,
        laravel_app=settings.apps[0],
        rng=rng,
        node_id=node_id,
        lease_key=f"{settings.redis_prefix}laravel-reader",
    )


async def _webhooks(
    settings: Settings, clock: Clock, rng: random.Random, stack: contextlib.AsyncExitStack
) -> WebhookDispatcher | None:
    """A dispatcher when some app has webhook targets; it and its HTTP client close with
    ``stack``, the dispatcher first so that it can flush."""
    if not any(app.webhooks for app in settings.apps):
        return None
    client = httpx.AsyncClient()
    stack.push_async_callback(client.aclose)
    dispatcher = WebhookDispatcher(apps=settings.apps, http=client, clock=clock, rng=rng)
    await dispatcher.start()
    stack.push_async_callback(dispatcher.stop)
    return dispatcher


def _redis_client(settings: Settings, stack: contextlib.AsyncExitStack) -> Redis | None:
    """The node's one Redis client, closed with ``stack``; ``None`` without a Redis URL.

    A burst of joins (a hand-over's reconnects) waits for a free connection instead of failing:
    redis-py's default pool raises once 100 connections are in use.
    """
    if settings.redis_url is None:
        return None
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url.reveal(), max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT_S
    )
    client = aioredis.Redis(connection_pool=pool)
    stack.push_async_callback(pool.disconnect)
    stack.push_async_callback(client.aclose)
    return client


def _default_adapter(
    settings: Settings, clock: Clock, rng: random.Random, redis: Redis | None, node_id: str
) -> Adapter:
    """The adapter the settings name."""
    if settings.adapter != "redis":
        return LocalAdapter(clock=clock)
    assert redis is not None
    return RedisAdapter(
        redis=redis, prefix=settings.redis_prefix, node_id=node_id, clock=clock, rng=rng
    )


def build_app(
    settings: Settings,
    *,
    clock: Clock,
    ids: IdFactory,
    rng: random.Random,
    adapter: Adapter | None = None,
    companions: Sequence[Companion] = (),
    mounts: Sequence[BaseRoute] = (),
    key_quota: KeyQuota | None = None,
    front_door_stats: FrontDoorStats | None = None,
    readiness: Readiness | None = None,
    node_id: str | None = None,
) -> Starlette:
    """The pusherd ASGI app for ``settings``; resources live exactly as long as its lifespan.

    Args:
        adapter: state adapter; by default the one ``settings.adapter`` names.
        companions: things that run beside the server (the embedded poller, the auth
            service's revocation listener), entered after the adapter starts.
        mounts: routes served on the same port after the HTTP API (the auth endpoints, the
            demo page), tried in order.
        key_quota: per-API-key connection caps (the auth service's socket grants).
        front_door_stats: the front door's refusal counters, shown on /metrics; made here when
            not given, and found by :func:`server_config` on ``app.state``, so whatever serves
            the app counts into the same object.
        readiness: the checks ``/ready`` runs and the draining flag the hand-over sets; the
            lifespan adds a Redis check when Redis is configured.
        node_id: the Redis adapter's node id (a worker's, known to its supervisor).
    """
    refusals = front_door_stats or FrontDoorStats()
    ready_state = readiness if readiness is not None else Readiness()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # One stack, closed in reverse: companions, feed, sockets, webhooks, adapter, Redis.
        async with contextlib.AsyncExitStack() as stack:
            # One Redis client (one connection pool) per node, for the adapter and the feed.
            redis = _redis_client(settings, stack)
            node = node_id or f"{rng.getrandbits(64):016x}"
            state_adapter = adapter or _default_adapter(settings, clock, rng, redis, node)
            await state_adapter.start()
            stack.push_async_callback(state_adapter.stop)
            webhooks = await _webhooks(settings, clock, rng, stack)
            endpoint = WebSocketEndpoint(
                settings=settings,
                apps=settings.apps,
                adapter=state_adapter,
                clock=clock,
                ids=ids,
                webhooks=webhooks,
                key_quota=key_quota,
                # Presence leaves wait out the hand-over's grace while draining.
                presence_leave_wait=presence_leave_grace(ready_state, settings.presence_grace_s),
            )
            http_context = HttpContext(
                apps_by_id={app_config.app_id: app_config for app_config in settings.apps},
                apps_by_key={app_config.key: app_config for app_config in settings.apps},
                adapter=state_adapter,
                publisher=EventPublisher(adapter=state_adapter, webhooks=webhooks),
                clock=clock,
            )
            # Stopped before the webhooks, so the leaves of closing sockets still report.
            await endpoint.start()
            stack.push_async_callback(endpoint.stop)
            if redis is not None:
                feed = _redis_feed(settings, http_context, rng, redis, node)
                stack.push_async_callback(feed.stop)
                await feed.start()
            for companion in companions:
                await stack.enter_async_context(companion(http_context.publisher))
            if settings.redis_url is not None:
                # A client of its own with short timeouts: a probe must answer within its own
                # timeout even while the adapter's client waits on a dead Redis.
                probe = aioredis.from_url(
                    settings.redis_url.reveal(), socket_timeout=1.0, socket_connect_timeout=1.0
                )
                stack.push_async_callback(probe.aclose)
                ready_state.add("redis", redis_check(probe))
            loop_lag = LoopLagMonitor(clock=clock)
            await loop_lag.start()
            stack.push_async_callback(loop_lag.stop)
            registry = CollectorRegistry(auto_describe=False)
            registry.register(
                ServerCollector(
                    endpoint=endpoint,
                    webhooks=webhooks,
                    adapter=state_adapter,
                    loop_lag=loop_lag,
                    front_door=refusals,
                )
            )
            yield {
                ENDPOINT_STATE_KEY: endpoint,
                HTTP_STATE_KEY: http_context,
                METRICS_STATE_KEY: MetricsAccess(registry, settings.metrics_token),
                READINESS_STATE_KEY: ready_state,
            }

    app = Starlette(
        routes=[*api_routes(), *mounts],
        middleware=[Middleware(AccessLog, rng=rng)],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    app.state.front_door_stats = refusals
    return app


def server_config(
    settings: Settings,
    app: Starlette,
    *,
    use_uvloop: bool = True,
    front_door_stats: FrontDoorStats | None = None,
    tls: ReloadableTls | None = None,
) -> uvicorn.Config:
    """uvicorn settings: httptools behind the front door's limits for HTTP, our protocol class
    for every WebSocket upgrade, and ``tls``'s one reloadable context when given."""
    stats = front_door_stats or getattr(app.state, "front_door_stats", None) or FrontDoorStats()
    http_protocol = front_door_protocol(settings.front_door, stats)
    tls_options: dict[str, Any] = {}
    if tls is not None:
        tls_options["ssl_context_factory"] = lambda config, default: tls.context
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws=PusherWebSocketProtocol,
        http=http_protocol,
        loop="uvloop" if use_uvloop else "asyncio",
        lifespan="on",
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        server_header=False,
        # Our handlers (pusherd.logs) format uvicorn's lines too, in text or JSON.
        log_config=None,
        **tls_options,
    )
