"""Fake upstream → poller → Redis bus stream, with the Redis connection cut in the middle of the
VAR sequence: every change reaches the bus once, in order, after the connection comes back."""

from __future__ import annotations

from collections import Counter

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from poller.clock import FakeClock
from poller.publish import BusPublisher
from tests.bus import bus_messages
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import drive, make_poller
from tests.poller.tcpproxy import TcpProxy

pytestmark = pytest.mark.redis

MATCH = "sports.football.leagues.arcadian-premier-division.matches.990102"


async def test_var_match_reaches_the_bus_once_and_in_order_across_a_redis_restart(
    sim_url: str, fake_clock: FakeClock, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    proxy = TcpProxy(6379)
    await proxy.start()
    client = aioredis.Redis(
        host="127.0.0.1", port=proxy.port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    fake_clock.set(SAMPLE_DAY + 12 * 3600 + 58 * 60)
    try:
        async with httpx.AsyncClient() as http:
            poller = make_poller(
                "football",
                sim_url,
                http,
                fake_clock,
                key=PAID_KEY,
                publisher=BusPublisher(redis=client, prefix=redis_prefix),
            )
            await drive(poller, fake_clock, SAMPLE_DAY + 13 * 3600 + 33 * 60)
            await proxy.stop()  # Redis unreachable across the VAR goal and its cancellation
            await drive(poller, fake_clock, SAMPLE_DAY + 13 * 3600 + 40 * 60)
            await proxy.start()
            await drive(poller, fake_clock, SAMPLE_DAY + 15 * 3600)
    finally:
        await client.aclose()
        await proxy.stop()
    received = [
        (envelope.channel, orjson.loads(envelope.frame))
        for envelope in await bus_messages(redis_client, redis_prefix)
    ]
    frames = [(c, f) for c, f in received if c == MATCH]
    events = [orjson.loads(str(f["data"])) for _, f in frames if f["event"] == "match.event"]
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    kinds = Counter(e["event_type"] for e in events)
    assert kinds["var"] == 1 and kinds["period"] == 4
    statuses = [
        orjson.loads(str(f["data"]))["new_status"]
        for _, f in frames
        if f["event"] == "match.status"
    ]
    assert statuses == ["live", "break", "live", "finished"]
    assert all(f["channel"] == c for c, f in frames)  # the frame names its own channel
