"""The product's whole path (issue 6): simulated upstream → poller → Redis bus → pusherd →
pusher-js. What pusher-js receives on a league channel is exactly what the poller published
there, in order, byte for byte: match.update, match.event and match.status alike."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
import redis.asyncio as aioredis

from poller.config import load_settings
from poller.publish import BusPublisher
from poller.service import running_poller
from poller.simulator.running import simulation
from pusherd.config import Secret
from tests.bus import bus_messages
from tests.conftest import StartPusherd
from tests.e2e.conftest import OpenDriver

pytestmark = [pytest.mark.node, pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/0"
LEAGUE = "sports.football.leagues.arcadian-premier-division"
#: How long the poller runs: at 60× a football minute passes every second.
RUN_S = 8.0


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


async def test_poller_updates_reach_pusher_js_exactly_as_published(
    start_pusherd: StartPusherd, open_driver: OpenDriver, redis_client: aioredis.Redis
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    server = await start_pusherd(
        redis_url=Secret(REDIS_URL), redis_prefix=prefix, laravel_redis_prefix=None
    )
    driver = await open_driver(server)
    client = await driver.pusher("fan", server)
    await client.connected()
    await client.subscribe(LEAGUE)
    since = driver.cursor
    publisher_redis = aioredis.from_url(REDIS_URL)
    try:
        async with simulation(
            seed=7, speed=60, start_offset_s=12 * 3600 + 40 * 60, football_spacing_s=900
        ) as sim:
            settings = load_settings({"POLLER_SPORTS": "football"}, simulator_url=sim.base_url)
            settings = dataclasses.replace(settings, daily_limit=7_500, minute_limit=300)
            publisher = BusPublisher(redis=publisher_redis, app_id=server.app_id, prefix=prefix)
            async with running_poller(settings, publisher=publisher, clock=sim.clock, tick_s=0.1):
                await asyncio.sleep(RUN_S)
    finally:
        await publisher_redis.aclose()
    published = [
        envelope.frame
        for envelope in await bus_messages(redis_client, prefix)
        if envelope.channel == LEAGUE
    ]
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}*")]
    await redis_client.delete(*keys)
    expected = [orjson.loads(frame) for frame in published]

    def received() -> list[dict[str, object]]:
        return [
            frame
            for frame in client.frames_in(since=since)
            if frame.get("channel") == LEAGUE and not str(frame["event"]).startswith("pusher")
        ]

    # The last frames cross pusherd after the poller stops: a bounded wait for all of them.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while len(received()) < len(expected) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert received() == expected
    names = {str(frame["event"]) for frame in expected}
    assert {"match.update", "match.status"} <= names, names
    assert len(expected) >= 5
