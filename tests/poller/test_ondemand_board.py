"""The on-demand board on real Redis, as pusherd nodes and a separate poller share it."""

from __future__ import annotations

import redis.asyncio as aioredis

from poller.clock import FakeClock
from poller.ondemand import Asked, MemoryOnDemand, OnDemandBoard, RedisOnDemand


async def exercise(board: OnDemandBoard, other_node: OnDemandBoard) -> None:
    for _ in range(50):  # asks from two nodes for the same match: one queued fetch
        assert await board.ask("football", 7) is Asked.QUEUED
        assert await other_node.ask("football", 7) is Asked.QUEUED
    assert await board.ask("football", 8) is Asked.QUEUED
    assert await board.ask("football", 9) is Asked.FULL  # bounded at two
    assert sorted(await board.take("football", 20)) == [7, 8]
    assert await board.take("football", 20) == []
    await board.settle("football", missing=[8])
    assert await other_node.ask("football", 8) is Asked.MISSING
    assert await board.ask("basketball", 8) is Asked.QUEUED  # per sport
    assert await board.down_since("football") is None
    await board.set_down("football", 1_234.5)
    assert await other_node.down_since("football") == 1_234.5
    await board.set_down("football", None)
    assert await other_node.down_since("football") is None


async def test_the_redis_board_coalesces_across_nodes(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    node_a = RedisOnDemand(redis=redis_client, prefix=redis_prefix, max_queued=2)
    node_b = RedisOnDemand(redis=redis_client, prefix=redis_prefix, max_queued=2)
    await exercise(node_a, node_b)
    assert await redis_client.ttl(f"{redis_prefix}ondemand:football:missing:8") > 0


async def test_the_memory_board_keeps_the_same_contract(fake_clock: FakeClock) -> None:
    board = MemoryOnDemand(clock=fake_clock, max_queued=2)
    await exercise(board, board)
    await board.settle("football", missing=[5])
    fake_clock.advance(601)  # the upstream may have it by now: ask again
    assert await board.ask("football", 5) is Asked.QUEUED
