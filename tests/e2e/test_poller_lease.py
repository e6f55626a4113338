"""The embedded poller runs once per deployment: of two nodes, one holds each sport's lease and
polls; SIGKILL it and the other takes over within one live poll interval (issue 14, item 2)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import redis.asyncio as aioredis

from tests.e2e.nodes import REDIS_URL, node_environment, redis_prefix, start_node, stop_all

#: Football's live poll interval (poller/plan.py DEFAULT_CADENCES).
FOOTBALL_LIVE_S = 15.0


async def _holder(client: aioredis.Redis, key: str) -> str | None:
    value = await client.get(key)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


async def test_killing_the_lease_holder_moves_polling_to_the_other_node(tmp_path: Path) -> None:
    async with redis_prefix() as prefix:
        key = f"{prefix}poller:lease:football"
        base = {"POLLER_SPORTS": "football", "PUSHERD_DEMO_SPEED": "20"}
        nodes = []
        client = aioredis.from_url(REDIS_URL)
        try:
            for name in ("alpha", "beta"):
                env = node_environment(tmp_path / name, prefix, {**base, "PUSHERD_NODE_ID": name})
                (tmp_path / name).mkdir(exist_ok=True)
                nodes.append(await start_node(tmp_path / name, env, name=name, poller=True))
            deadline = time.monotonic() + 20
            while (holder := await _holder(client, key)) is None:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            by_name = dict(zip(("alpha", "beta"), nodes, strict=True))
            survivor_name = "beta" if holder == "alpha" else "alpha"
            survivor = by_name[survivor_name]
            await asyncio.sleep(2.0)  # both running: only the holder polls
            assert await _holder(client, key) == holder
            assert "football: lease taken" not in survivor.log_text()
            by_name[holder].signal(signal.SIGKILL)
            killed_at = time.monotonic()
            while await _holder(client, key) != survivor_name:
                assert time.monotonic() - killed_at < FOOTBALL_LIVE_S, "no takeover"
                await asyncio.sleep(0.1)
            took = time.monotonic() - killed_at
            assert took < FOOTBALL_LIVE_S, took
            while "football: lease taken" not in survivor.log_text():
                assert time.monotonic() - killed_at < FOOTBALL_LIVE_S + 5
                await asyncio.sleep(0.1)
        finally:
            await stop_all(nodes)
            await client.aclose()
