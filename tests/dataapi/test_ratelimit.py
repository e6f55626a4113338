"""Tier rate limits: the token bucket in memory and in Redis, exact across processes, and on
the wire (issue 11 item 6)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import Engine

from auth.policy import load_policy
from dataapi.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter, rate_headers
from poller.cache import MemoryCache
from poller.clock import FakeClock
from tests.dataapi.helpers import ApiClock, Harness

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limiter(request: pytest.FixtureRequest, fake_clock: FakeClock) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter(clock=ApiClock(fake_clock))
    client: aioredis.Redis = request.getfixturevalue("redis_client")
    return RedisRateLimiter(redis=client, prefix=request.getfixturevalue("redis_prefix"))


async def test_a_full_bucket_allows_exactly_the_limit_then_refuses(limiter: RateLimiter) -> None:
    decisions = [await limiter.take("key-a", 5) for _ in range(6)]
    assert [d.is_allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert decisions[-1].retry_after_s == 12  # one token every 60/5 s
    assert 0 < decisions[-1].reset_s <= 60
    assert (await limiter.take("key-b", 5)).is_allowed  # buckets are per key


async def test_the_memory_bucket_refills_on_the_clock(fake_clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock=ApiClock(fake_clock))
    for _ in range(5):
        await limiter.take("k", 5)
    assert not (await limiter.take("k", 5)).is_allowed
    fake_clock.advance(12)
    assert (await limiter.take("k", 5)).is_allowed
    assert not (await limiter.take("k", 5)).is_allowed


def test_header_fields_in_both_forms() -> None:
    from dataapi.ratelimit import RateDecision

    headers = rate_headers(RateDecision(True, 60, 41.5), "free")
    assert headers == {
        "RateLimit-Limit": "60",
        "RateLimit-Remaining": "41",
        "RateLimit-Reset": "19",
        "RateLimit-Policy": '"free";q=60;w=60',
        "RateLimit": '"free";r=41;t=19',
    }


@pytest.mark.redis
async def test_exact_under_concurrency_from_two_processes(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    """N+1 and more concurrent requests from two OS processes against a limit of N: exactly
    N pass. A limit of 20 refills one token per 3 s, longer than the burst takes."""
    limit, per_process = 20, 15
    start_at = time.time() + 1.5
    command = [sys.executable, "-m", "tests.dataapi.ratelimit_worker", redis_prefix, "shared"]
    workers = [
        subprocess.Popen(
            [*command, str(limit), str(per_process), str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    allowed = []
    for worker in workers:
        out, _ = await asyncio.to_thread(worker.communicate, timeout=30)
        assert worker.returncode == 0
        allowed.append(int(out.strip()))
    assert time.time() - start_at < 2.5, "the burst must end before a token refills"
    assert sum(allowed) == limit and all(allowed), allowed


async def test_on_the_wire_every_answer_has_the_fields_and_429_has_retry_after(
    engine: Engine, fake_clock: FakeClock
) -> None:
    policy = load_policy(
        {
            "tiers": [
                {
                    "name": "tiny",
                    "channel_kinds": ["public"],
                    "max_connections": 1,
                    "rest_requests_per_minute": 3,
                    "data_api": {"resources": ["reference"], "history_days": 1},
                }
            ],
            "channels": [],
        }
    )
    api = Harness.build(
        engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock, policy=policy
    )
    async with api.client(api.keys["tiny"]) as client:
        answers = [await client.get("/sports") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
        refused = await client.get("/sports")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "20"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["ratelimit"] == '"tiny";r=0;t=60'
        forbidden = await client.get("/matches/live")  # a token spent, then 429 before 403
        assert forbidden.status_code == 429
        fake_clock.advance(20)
        assert (await client.get("/matches/live")).status_code == 403
