"""Usage rolled up into SQL (issue 11 item 7): the hourly roll-up of the usage sink's totals,
never counted twice, never lowered, on SQLite and PostgreSQL; and the table
``python -m auth usage`` prints from it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from dataapi.store import open_match_engine
from dataapi.usage import MemoryUsageSink, RedisUsageSink, UsageCounter, UsageSink
from dataapi.usage_report import run as usage_report
from dataapi.usage_sql import KeyUsage, UsageRollup, format_usage, usage_rows
from poller.clock import FakeClock
from tests.dataapi.helpers import ApiClock
from tests.poller.conftest import SAMPLE_DAY

NOON = SAMPLE_DAY + 12 * 3600  # 2026-10-03 12:00 UTC


async def _roll_up_twice_over_midnight(sink: UsageSink, store_url: str) -> list[KeyUsage]:
    clock = FakeClock(NOON - 86_400)  # yesterday noon
    usage = UsageCounter(sink=sink, clock=ApiClock(clock), flush_every_s=3600)
    for _ in range(3):
        usage.count("k1", "live", status=200, body_bytes=100)
    usage.observe_connections("k1", 2)
    await usage.flush()
    clock.set(NOON)  # today: yesterday's last counts are still rolled up, today's too
    usage.count("k1", "live", status=200, body_bytes=100)
    usage.count("k1", "sports", status=429, body_bytes=50)
    usage.count("k2", "match", status=200, body_bytes=10)
    for count in (1, 4, 3):  # one sample a minute: peak 4, 8 connection-minutes
        usage.observe_connections("k1", count)
    await usage.flush()
    with open_match_engine(store_url) as engine:
        rollup = UsageRollup(engine=engine, sink=sink, clock=clock)
        assert await rollup.roll_up() > 0
        assert await rollup.roll_up() > 0  # the same totals again: nothing counted twice
        rows = usage_rows(engine, now_s=NOON, days=7)
        only_k2 = usage_rows(engine, now_s=NOON, days=1, key_id="k2")
        assert [(r.day, r.key_id) for r in only_k2] == [("2026-10-03", "k2")]
        today_only = usage_rows(engine, now_s=NOON, days=1)
        assert {r.day for r in today_only} == {"2026-10-03"}
    return rows


@pytest.mark.parametrize("sink_kind", ["memory", "redis"])
async def test_the_roll_up_writes_each_days_totals_once(
    sink_kind: str, store_url: str, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    sink: UsageSink = (
        MemoryUsageSink()
        if sink_kind == "memory"
        else RedisUsageSink(redis=redis_client, prefix=redis_prefix)
    )
    rows = await _roll_up_twice_over_midnight(sink, store_url)
    summary = [
        (r.day, r.key_id, r.requests, r.bytes, r.refused, r.ws_peak, r.ws_minutes) for r in rows
    ]
    assert summary == [
        ("2026-10-03", "k2", 1, 10, 0, 0, 0),
        ("2026-10-03", "k1", 2, 150, 1, 4, 8),
        ("2026-10-02", "k1", 3, 300, 0, 2, 2),
    ]


async def test_a_smaller_total_never_lowers_the_record(store_url: str) -> None:
    """A Redis that lost its data (restart without persistence) rolls up smaller totals."""
    clock = FakeClock(NOON)
    first, second = MemoryUsageSink(), MemoryUsageSink()
    await first.add({("2026-10-03", "k1"): {"requests:live": 10}})
    await second.add({("2026-10-03", "k1"): {"requests:live": 2}})
    with open_match_engine(store_url) as engine:
        await UsageRollup(engine=engine, sink=first, clock=clock).roll_up()
        await UsageRollup(engine=engine, sink=second, clock=clock).roll_up()
        (row,) = usage_rows(engine, now_s=NOON, days=1)
    assert row.requests == 10


async def test_the_usage_command_prints_the_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/usage.sqlite3"
    sink = MemoryUsageSink()
    await sink.add(
        {("2026-10-03", "abcd1234"): {"requests:live": 5, "bytes:live": 900, "refused": 1}},
        {("2026-10-03", "abcd1234"): 3},
    )
    with open_match_engine(url) as engine:
        await UsageRollup(engine=engine, sink=sink, clock=FakeClock(NOON)).roll_up()
    out = io.StringIO()
    assert usage_report(["--key", "abcd1234"], {"DATABASE_URL": url}, out, now_s=NOON) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["day", "key", "requests", "bytes"]
    assert lines[1].split()[:7] == ["2026-10-03", "abcd1234", "5", "900", "1", "3", "0"]
    empty = io.StringIO()
    assert usage_report(["--key", "nobody"], {"DATABASE_URL": url}, empty, now_s=NOON) == 0
    assert "no usage recorded" in empty.getvalue()
    assert format_usage([]).count("\n") == 2
