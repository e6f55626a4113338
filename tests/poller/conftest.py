"""Fixtures for the poller tests: sample upstream bodies, a fake clock, real Redis per prefix."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from poller.clock import FakeClock
from poller.simulator.app import Simulator, build_app
from poller.simulator.demo import demo_day
from poller.simulator.quota import Account
from poller.simulator.server import serve
from poller.simulator.world import World

SAMPLES = Path(__file__).with_name("samples")
#: 2026-10-03 14:00:00 UTC, the day of the sample bodies.
SAMPLE_DAY_14H = 1_791_036_000.0


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / name).read_bytes())


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(SAMPLE_DAY_14H)


@pytest.fixture
def redis_prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(host="127.0.0.1", port=6379)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - environment without Redis
        await client.aclose()
        # Fail, never skip: a CI without Redis must not pass by running fewer tests.
        pytest.fail(f"these tests need Redis on 127.0.0.1:6379 (make test starts it): {exc}")
    yield client
    keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


# --- the simulator as a real loopback HTTP server -------------------------------------------


#: 2026-10-03 00:00 UTC.
SAMPLE_DAY = 1_791_072_000.0 - 86_400.0
PAID_KEY = "paid-key"
FREE_KEY = "free-key"
RAPID_KEY = "rapid-key"


@pytest.fixture
def simulator(fake_clock: FakeClock) -> Simulator:
    world = World(demo_day(7, SAMPLE_DAY), clock=fake_clock)
    return Simulator(
        world=world,
        accounts={
            PAID_KEY: Account(PAID_KEY, daily_limit=7_500, minute_limit=300, plan="Pro"),
            FREE_KEY: Account(FREE_KEY),
            RAPID_KEY: Account(RAPID_KEY, daily_limit=7_500, minute_limit=300, channel="rapidapi"),
        },
    )


@pytest.fixture
async def sim_url(simulator: Simulator) -> AsyncIterator[str]:
    async with serve(build_app(simulator)) as url:
        yield url
