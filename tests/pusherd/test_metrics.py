"""``GET /metrics`` reports live state: connections, subscriptions, the webhook queue."""

from __future__ import annotations

import asyncio
import random

import httpx
import orjson
import websockets
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pusherd.adapters.local import LocalAdapter
from pusherd.clock import FakeClock, IdFactory
from pusherd.config import WebhookTarget
from pusherd.frontdoor import FrontDoorStats
from pusherd.looplag import LoopLagMonitor
from pusherd.metrics import ServerCollector
from pusherd.transport.endpoint import WebSocketEndpoint
from tests.conftest import StartPusherd
from tests.servers import RunningServer, make_settings


async def _samples(server: RunningServer) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        sample.name + "".join(f"|{value}" for value in sample.labels.values()): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_metrics_follow_connections_and_subscriptions(start_pusherd: StartPusherd) -> None:
    # A webhook target on a closed port: the queue metrics exist and nothing crashes.
    server = await start_pusherd(webhooks=(WebhookTarget("http://127.0.0.1:9/hook"),))
    before = await _samples(server)
    assert "pusherd_connections|3" not in before
    sockets = []
    for channel in ("matches", "scores"):
        ws = await websockets.connect(server.ws_url())
        await asyncio.wait_for(ws.recv(), 2)
        await ws.send(
            orjson.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}).decode()
        )
        await asyncio.wait_for(ws.recv(), 2)
        sockets.append(ws)
    samples = await _samples(server)
    assert samples["pusherd_connections|3"] == 2
    assert samples["pusherd_subscriptions|3"] == 2
    assert samples["pusherd_slow_consumers_dropped_total"] == 0
    assert "pusherd_webhooks_pending" in samples
    assert "pusherd_webhooks_dropped_total" in samples
    for ws in sockets:
        await ws.close()


def test_loop_lag_and_front_door_refusals_are_collected() -> None:
    """The collector reads the lag monitor and the front door's counters as they are now."""
    clock = FakeClock()
    settings = make_settings()
    adapter = LocalAdapter(clock=clock)
    endpoint = WebSocketEndpoint(
        settings=settings,
        apps=settings.apps,
        adapter=adapter,
        clock=clock,
        ids=IdFactory(random.Random(1)),
    )
    lag = LoopLagMonitor(clock=clock)
    lag.observe(0.3)
    lag.observe(0.002)
    front_door = FrontDoorStats()
    front_door.count("408")
    front_door.count("408")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        ServerCollector(
            endpoint=endpoint, webhooks=None, adapter=adapter, loop_lag=lag, front_door=front_door
        )
    )
    samples = {
        sample.name + "".join(f"|{value}" for value in sample.labels.values()): sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
    }
    assert samples["pusherd_event_loop_lag_seconds"] == 0.002
    assert samples["pusherd_event_loop_lag_max_seconds"] == 0.3
    assert samples["pusherd_event_loop_lag_observed_seconds_count"] == 2
    assert samples["pusherd_event_loop_lag_observed_seconds_bucket|0.25"] == 1
    assert samples["pusherd_event_loop_lag_observed_seconds_bucket|0.5"] == 2
    assert samples["pusherd_front_door_refused_total|408"] == 2
