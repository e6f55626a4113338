"""WebSocket connections per API key for the usage counts (issue 11 item 7): sampled once a
minute from the per-key channels pusherd keeps for its connection caps; one node per minute
samples when several share Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from dataapi.usage import MemoryUsageSink, UsageCounter
from poller.clock import FakeClock
from pusherd.adapters.local import LocalAdapter
from pusherd.key_usage import KeyConnectionSampler
from tests.dataapi.helpers import ApiClock
from tests.poller.conftest import SAMPLE_DAY, redis_client, redis_prefix  # noqa: F401, F811  (fixtures)


class Socket:
    def __init__(self, socket_id: str) -> None:
        self._socket_id = socket_id

    @property
    def socket_id(self) -> str:
        return self._socket_id

    def deliver(self, ws_frame: bytes) -> None:
        pass

    def terminate(self) -> None:
        pass


async def _adapter_with_sockets(clock: FakeClock, per_key: dict[str, int]) -> LocalAdapter:
    adapter = LocalAdapter(clock=ApiClock(clock))
    await adapter.start()
    for key_id, count in per_key.items():
        for n in range(count):
            await adapter.join(
                "1", f"#api-key-{key_id}", Socket(f"{n}.{key_id}"), None, max_presence_members=1
            )
    await adapter.join("1", "public-scores", Socket("9.9"), None, max_presence_members=1)
    return adapter


async def test_samples_give_peak_and_connection_minutes_per_key() -> None:
    clock = FakeClock(SAMPLE_DAY + 12 * 3600)
    adapter = await _adapter_with_sockets(clock, {"ka": 2, "kb": 1})
    sink = MemoryUsageSink()
    usage = UsageCounter(sink=sink, clock=ApiClock(clock), flush_every_s=3600)
    sampler = KeyConnectionSampler(adapter=adapter, app_ids=["1"], usage=usage, clock=clock)
    try:
        assert await sampler.sample() == 2
        await adapter.join("1", "#api-key-ka", Socket("5.ka"), None, max_presence_members=1)
        clock.advance(60)
        assert await sampler.sample() == 2
        await usage.flush()
    finally:
        await adapter.stop()
    assert await sink.scan("2026-10-03") == {
        "ka": {"ws_connection_minutes": 5, "ws_peak": 3},
        "kb": {"ws_connection_minutes": 2, "ws_peak": 1},
    }


@pytest.mark.redis
async def test_one_node_samples_each_minute(
    redis_client: aioredis.Redis,  # noqa: F811
    redis_prefix: str,  # noqa: F811
) -> None:
    clock = FakeClock(SAMPLE_DAY + 12 * 3600)
    adapter = await _adapter_with_sockets(clock, {"ka": 2})
    sink = MemoryUsageSink()
    usage = UsageCounter(sink=sink, clock=ApiClock(clock), flush_every_s=3600)
    nodes = [
        KeyConnectionSampler(
            adapter=adapter,
            app_ids=["1"],
            usage=usage,
            clock=clock,
            redis=redis_client,
            prefix=redis_prefix,
        )
        for _ in range(2)
    ]
    try:
        assert [await node.sample() for node in nodes] == [1, 0]  # the same minute: once
        clock.advance(60)
        assert [await node.sample() for node in reversed(nodes)] == [1, 0]
        await usage.flush()
    finally:
        await adapter.stop()
    assert await sink.scan("2026-10-03") == {"ka": {"ws_connection_minutes": 4, "ws_peak": 2}}
