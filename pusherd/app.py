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
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from pusherd.adapters.base import Adapter
from pusherd.adapters.local import LocalAdapter
from pusherd.adapters.redis import RedisAdapter
from pusherd.clock import Clock, IdFactory
from pusherd.config import Settings
from pusherd.frontdoor import FrontDoorStats, front_door_protocol
from pusherd.hooks import KeyQuota
from pusherd.http.context import HTTP_STATE_KEY, HttpContext, json_response
from pusherd.http.metrics import METRICS_STATE_KEY, MetricsAccess
from pusherd.http.routes import api_routes
from pusherd.looplag import LoopLagMonitor
from pusherd.metrics import ServerCollector
from pusherd.protocol.bus import bus_stream
from pusherd.publisher import EventPublisher
from pusherd.redis_feed import RedisFeed
from pusherd.transport.endpoint import WebSocketEndpoint
from pusherd.transport.websocket import ENDPOINT_STATE_KEY, PusherWebSocketProtocol
from pusherd.webhooks import WebhookDispatcher

__all__ = ["build_app", "server_config"]

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
) -> Starlette:
    """The pusherd ASGI app for ``settings``; resources live exactly as long as its lifespan.

    Args:
        adapter: state adapter; by default the one ``settings.adapter`` names.
        companions: things that run beside the server (the embedded poller, the auth
            service's revocation listener), entered after the adapter starts.
        mounts: routes served on the same port after the HTTP API (the auth endpoints, the
            demo page), tried in order.
        key_quota: per-API-key connection caps (the auth service's socket grants).
        front_door_stats: the front door's refusal counters, shown on /metrics (the same
            object goes to :func:`server_config`).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # One stack, closed in reverse: companions, feed, sockets, webhooks, adapter, Redis.
        async with contextlib.AsyncExitStack() as stack:
            # One Redis client (one connection pool) per node, for the adapter and the feed.
            redis = None
            if settings.redis_url is not None:
                redis = aioredis.from_url(settings.redis_url.reveal())
                stack.push_async_callback(redis.aclose)
            node_id = f"{rng.getrandbits(64):016x}"
            state_adapter = adapter or _default_adapter(settings, clock, rng, redis, node_id)
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
                feed = _redis_feed(settings, http_context, rng, redis, node_id)
                stack.push_async_callback(feed.stop)
                await feed.start()
            for companion in companions:
                await stack.enter_async_context(companion(http_context.publisher))
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
                    front_door=front_door_stats,
                )
            )
            yield {
                ENDPOINT_STATE_KEY: endpoint,
                HTTP_STATE_KEY: http_context,
                METRICS_STATE_KEY: MetricsAccess(registry, settings.metrics_token),
            }

    return Starlette(
        routes=[*api_routes(), *mounts],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )


def server_config(
    settings: Settings,
    app: Starlette,
    *,
    use_uvloop: bool = True,
    front_door_stats: FrontDoorStats | None = None,
) -> uvicorn.Config:
    """uvicorn settings: httptools behind the front door's limits for HTTP, our protocol class
    for every WebSocket upgrade."""
    http_protocol = front_door_protocol(settings.front_door, front_door_stats or FrontDoorStats())
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
    )
