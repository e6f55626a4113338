"""Walking a 1,000-match day page by page: no duplicate, no gap, with writes in between."""

from __future__ import annotations

import random

import pytest
from sqlalchemy.engine import Engine

from dataapi.store import SqlMatchStore
from poller.cache import MemoryCache
from poller.clock import FakeClock
from poller.model import Match, StatusBucket, Team
from poller.record import RecordBatch
from tests.dataapi.helpers import Harness
from tests.poller.conftest import SAMPLE_DAY


def a_day_of_matches(count: int, rng: random.Random) -> list[Match]:
    """``count`` matches of one league on one day, many sharing a kick-off time."""
    return [
        Match(
            match_id=5_000_000 + n,
            sport="football",
            league_id=39,
            league_name="Premier League",
            season="2026",
            status=StatusBucket.SCHEDULED,
            status_short="NS",
            home=Team(10_000 + 2 * n, f"Home {n}", None),
            away=Team(10_001 + 2 * n, f"Away {n}", None),
            period=None,
            clock=None,
            elapsed=None,
            start_time=int(SAMPLE_DAY) + rng.randrange(0, 24) * 3600,
        )
        for n in rng.sample(range(count), count)
    ]


@pytest.mark.parametrize("limit", [200, 7])
async def test_a_thousand_match_day_walks_without_duplicate_or_gap(
    engine: Engine, fake_clock: FakeClock, limit: int
) -> None:
    matches = a_day_of_matches(1_000, random.Random(3))
    store = SqlMatchStore(engine=engine)
    store.record(RecordBatch("football", tuple(matches), {39: "premier-league"}, (), SAMPLE_DAY))
    api = Harness.build(engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock)
    seen: list[int] = []
    url: str | None = (
        f"/sports/football/leagues/premier-league/matches?date=2026-10-03&limit={limit}"
    )
    async with api.client(api.keys["enterprise"]) as client:
        pages = 0
        while url is not None:
            response = await client.get(url.removeprefix("/api/v1"))
            assert response.status_code == 200, response.text
            body = response.json()
            seen += [m["match_id"] for m in body["data"]]
            url = body["next"]
            pages += 1
            if pages == 2:  # the poller writes meanwhile: a new match late in the day
                extra = [
                    m for m in a_day_of_matches(1_001, random.Random(4)) if m.match_id == 5_001_000
                ]
                store.record(
                    RecordBatch("football", tuple(extra), {39: "premier-league"}, (), SAMPLE_DAY)
                )
    assert len(seen) == len(set(seen))
    assert set(seen) >= {m.match_id for m in matches}
    assert pages == -(-len(seen) // limit)


async def test_the_limit_is_capped_at_200(engine: Engine, fake_clock: FakeClock) -> None:
    api = Harness.build(engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock)
    async with api.client(api.keys["enterprise"]) as client:
        response = await client.get("/sports?limit=200")
        assert response.status_code == 200
        assert (await client.get("/sports?limit=201")).status_code == 422
