"""The match store: its own migration chain, records from the simulated upstream, retention."""

from __future__ import annotations

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from auth import migrate as auth_migrate
from dataapi import migrate
from dataapi.reader import SqlMatchReader
from dataapi.store import SqlMatchStore, create_engine_for_url, open_match_engine
from dataapi.tables import VERSION_TABLE, matches, metadata
from poller.clock import FakeClock
from poller.record import RecordBatch
from poller.routing import Outbound
from tests.dataapi.helpers import record_day
from tests.poller.conftest import SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher

DAY = "2026-10-03"


def test_migrations_build_the_declared_schema_beside_auths_chain(store_url: str) -> None:
    """Both chains in one database, each with its own version table, each reversible alone."""
    engine = create_engine_for_url(store_url)
    try:
        auth_migrate.upgrade(engine)
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        inspector = sa.inspect(engine)
        for table in metadata.sorted_tables:
            declared = {c.name: type(c.type).__name__ for c in table.columns}
            found = {c["name"] for c in inspector.get_columns(table.name)}
            assert found == set(declared), table.name
            found_indexes = {i["name"] for i in inspector.get_indexes(table.name)}
            assert {i.name for i in table.indexes} <= found_indexes
        assert VERSION_TABLE in inspector.get_table_names()
        migrate.downgrade(engine)
        remaining = set(sa.inspect(engine).get_table_names())
        assert not remaining & {t.name for t in metadata.sorted_tables}
        assert "api_keys" in remaining and auth_migrate.current_revision(engine) is not None
    finally:
        engine.dispose()


def published_events(published: RecordingPublisher, match_channel: str) -> list[Outbound]:
    return published.on(match_channel, "match.event")


async def test_a_finished_match_and_its_timeline_carry_the_websocket_event_ids(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, store_url: str
) -> None:
    with open_match_engine(store_url) as engine:
        published = await record_day(
            sim_url, http, fake_clock, engine, SAMPLE_DAY + 14 * 3600 + 10 * 60
        )
        reader = SqlMatchReader(engine=engine)
        match = reader.match("football", 990101)
        assert match is not None and match["status"] == "finished"
        channel = f"sports.football.leagues.{match['league_id']}.matches.990101"
        sent = [orjson.loads(m.data) for m in published_events(published, channel)]
        assert len(sent) >= 5  # kick-off, goals, half time, second half, full time…
        timeline = reader.timeline("football", 990101)
        by_id = {e["event_id"]: e for e in timeline}
        for payload in sent:
            assert by_id[payload["event_id"]] == payload  # exactly what subscribers got
        minutes = [int(e["time"].split(":")[0]) if e["time"] else -1 for e in timeline]
        assert minutes == sorted(minutes)
        last_update = orjson.loads(published.on(channel, "match.update")[-1].data)
        assert {k: match[k] for k in last_update if k != "last_updated"} == {
            k: v for k, v in last_update.items() if k != "last_updated"
        }


async def test_a_restarted_poller_rerecords_without_rewriting_history_and_retention_prunes(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, engine: Engine
) -> None:
    await record_day(sim_url, http, fake_clock, engine, SAMPLE_DAY + 12 * 3600 + 50 * 60)
    reader = SqlMatchReader(engine=engine)
    before = reader.timeline("football", 990101)
    assert before
    # The poller is at-least-once: the same events may come again (a resend after a failed
    # save, a restart), later and rewritten upstream. The record keeps the first timestamp and
    # scores, which is what subscribers got, and takes the rewritten content.
    again = tuple(
        e | {"timestamp": "2026-10-03T13:30:00Z", "home_score": 9, "description": "Rewritten"}
        for e in before
    )
    store = SqlMatchStore(engine=engine)
    store.record(RecordBatch("football", (), {}, again, fake_clock.time()))
    after = {e["event_id"]: e for e in reader.timeline("football", 990101)}
    assert after == {e["event_id"]: e | {"description": "Rewritten"} for e in before}
    page = reader.league_matches(
        "football",
        "arcadian-premier-division",
        day=DAY,
        statuses=frozenset(),
        after=None,
        limit=200,
    )
    assert page.items and page.after is None
    assert store.prune(before_s=SAMPLE_DAY) == 0
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(matches)).scalar()
    assert total and store.prune(before_s=SAMPLE_DAY + 86_400) == total
    assert reader.match("football", 990101) is None
    assert reader.timeline("football", 990101) == []
