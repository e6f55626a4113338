from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from poller.clock import FakeClock
from poller.detect import MatchState, detect
from poller.snapshots import (
    MemorySnapshots,
    RedisSnapshots,
    SnapshotStore,
    decode_state,
    encode_state,
)
from tests.poller.factories import event, football


def a_state(match_id: int = 7) -> MatchState:
    _, state = detect(None, football(match_id=match_id, score=(1, 0), events=(event(),)))
    return state


def test_codec_round_trip_keeps_ids_and_seen_set() -> None:
    state = a_state()
    assert decode_state(encode_state(state)) == state
    assert decode_state(encode_state(state)).match.events[0].event_id != 0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, fake_clock: FakeClock) -> SnapshotStore:
    if request.param == "memory":
        return MemorySnapshots()
    redis_client = request.getfixturevalue("redis_client")
    redis_prefix = request.getfixturevalue("redis_prefix")
    return RedisSnapshots(redis=redis_client, prefix=redis_prefix)


async def test_contract_save_load_drop(store: SnapshotStore) -> None:
    assert await store.load("football") == {}
    await store.save("football", [a_state(1), a_state(2)])
    await store.save("football", [])
    loaded = await store.load("football")
    assert set(loaded) == {1, 2} and loaded[1] == a_state(1)
    assert await store.load("basketball") == {}
    await store.drop("football", [1])
    assert set(await store.load("football")) == {2}


@pytest.mark.redis
async def test_redis_snapshots_live_under_the_prefix_with_a_ttl(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    await RedisSnapshots(redis=redis_client, prefix=redis_prefix).save("football", [a_state()])
    key = f"{redis_prefix}snapshots:football"
    assert 0 < await redis_client.ttl(key) <= 3 * 86_400
