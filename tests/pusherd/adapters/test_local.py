"""What only the in-memory adapter has to prove: its cache-channel store does not grow without
bound (issue 10, item 10). The shared semantics are in ``test_contract.py``."""

from __future__ import annotations

import asyncio

from pusherd.adapters.local import LocalAdapter
from pusherd.clock import FakeClock

APP_ID = "1"


def _fill(adapter: LocalAdapter, count: int, *, ttl_s: float = 60.0, tag: str = "m") -> None:
    for n in range(count):
        adapter.publish(APP_ID, f"cache-sports.football.matches.{tag}{n}", b"{}", cache_ttl_s=ttl_s)


async def test_expired_cache_entries_are_gone_after_the_ttl_and_a_sweep() -> None:
    # Before: 50,000 per-match entries an hour after a 60 s TTL, because only a read dropped one.
    clock = FakeClock()
    adapter = LocalAdapter(clock=clock)
    _fill(adapter, 50_000)
    assert adapter.cached_channel_count() == 50_000
    clock.advance(3600)
    adapter.sweep()
    assert adapter.cached_channel_count() == 0


async def test_writes_expire_what_is_stale_so_a_publisher_alone_keeps_the_store_small() -> None:
    clock = FakeClock()
    adapter = LocalAdapter(clock=clock)
    for minute in range(60):  # the poller's pattern: new match channels every minute
        _fill(adapter, 1_000, tag=f"{minute}-")
        clock.advance(60)
    assert adapter.cached_channel_count() <= 2_000


async def test_an_entry_rewritten_before_it_expires_is_kept() -> None:
    clock = FakeClock()
    adapter = LocalAdapter(clock=clock)
    for _ in range(100):  # one live match, refreshed every 15 s with a 60 s TTL
        adapter.publish(APP_ID, "cache-live", b"{}", cache_ttl_s=60.0)
        clock.advance(15)
        adapter.sweep()
    assert await adapter.cached_event(APP_ID, "cache-live") is not None
    assert adapter.cached_channel_count() == 1
    assert adapter.expiry_queue_length() <= 8  # superseded expiries do not pile up either


async def test_the_adapter_sweeps_on_its_own_timer_while_started() -> None:
    clock = FakeClock()
    adapter = LocalAdapter(clock=clock, sweep_interval_s=0.01)
    await adapter.start()
    try:
        _fill(adapter, 1_000)
        clock.advance(61)
        for _ in range(200):  # bounded: 2 s at most
            if adapter.cached_channel_count() == 0:
                break
            await asyncio.sleep(0.01)
        assert adapter.cached_channel_count() == 0
    finally:
        await adapter.stop()
