"""``GET /metrics`` reports live state: connections, subscriptions, the webhook queue."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import websockets
from prometheus_client.parser import text_string_to_metric_families

from pusherd.config import WebhookTarget
from tests.conftest import StartPusherd
from tests.servers import RunningServer


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
