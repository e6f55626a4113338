"""The poller's recording tap: a failing store never stops the feed, and loses no event."""

from __future__ import annotations

import logging

import httpx
import orjson
import pytest

from dataapi import migrate
from dataapi.reader import SqlMatchReader
from dataapi.store import SqlMatchStore, create_engine_for_url
from poller.clock import FakeClock
from poller.config import load_catalogue
from poller.record import RecordingTap
from poller.snapshots import MemorySnapshots
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher, drive, make_poller

CHANNEL = "sports.football.leagues.arcadian-premier-division.matches.990101"


async def test_a_store_that_fails_keeps_events_for_the_next_save(
    sim_url: str,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    sqlite_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_clock.set(SAMPLE_DAY + 11 * 3600 + 58 * 60)
    engine = create_engine_for_url(sqlite_url)  # not migrated yet: every write fails
    try:
        tap = RecordingTap(
            recorder=SqlMatchStore(engine=engine),
            catalogue=load_catalogue(),
            clock=fake_clock,
            retention_s=86_400,
        )
        published = RecordingPublisher()
        poller = make_poller(
            "football",
            sim_url,
            http,
            fake_clock,
            key=PAID_KEY,
            publisher=tap.publisher(published),
            snapshots=tap.snapshots(MemorySnapshots()),
        )
        with caplog.at_level(logging.WARNING, logger="poller.record"):
            await drive(poller, fake_clock, SAMPLE_DAY + 12 * 3600 + 20 * 60, max_step=60)
        kickoff = [orjson.loads(m.data) for m in published.on(CHANNEL, "match.event")]
        assert kickoff, "the live feed went on while the store was failing"
        assert "match store write failed" in caplog.text
        migrate.upgrade(engine)
        await drive(poller, fake_clock, SAMPLE_DAY + 12 * 3600 + 40 * 60, max_step=60)
        timeline = {
            e["event_id"]: e for e in SqlMatchReader(engine=engine).timeline("football", 990101)
        }
        for payload in kickoff:
            assert timeline[payload["event_id"]] == payload
    finally:
        engine.dispose()
