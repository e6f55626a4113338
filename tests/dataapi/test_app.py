"""``/api/v1`` end to end over data the simulated upstream produced: shapes, pagination,
validation, freshness and the problem bodies (issue 11 items 1, 2, 4, 5)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from sqlalchemy.engine import Engine

from poller.cache import MemoryCache
from poller.clock import FakeClock
from tests.dataapi.helpers import LEAGUE, Harness, record_day
from tests.poller.conftest import SAMPLE_DAY

UPDATE_KEYS = {
    "match_id",
    "sport_id",
    "league_id",
    "status",
    "home_team",
    "away_team",
    "period",
    "time",
    "last_updated",
}
EVENT_KEYS = {
    "match_id",
    "event_id",
    "event_type",
    "team_id",
    "player_name",
    "time",
    "description",
    "home_score",
    "away_score",
    "timestamp",
}


@pytest.fixture
async def harness(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, engine: Engine
) -> AsyncIterator[tuple[Harness, list[dict[str, object]]]]:
    """12:00–12:50 of the simulated day recorded; returns the harness and the match.event
    payloads subscribers of match 990101 got."""
    cache = MemoryCache(clock=fake_clock)
    published = await record_day(
        sim_url, http, fake_clock, engine, SAMPLE_DAY + 12 * 3600 + 50 * 60, cache=cache
    )
    channel = f"sports.football.leagues.{LEAGUE}.matches.990101"
    events = [orjson.loads(m.data) for m in published.on(channel, "match.event")]
    yield Harness.build(engine=engine, cache=cache, clock=fake_clock), events


async def test_a_client_seeds_live_state_and_a_timeline_in_the_websocket_shapes(
    harness: tuple[Harness, list[dict[str, object]]],
) -> None:
    api, published = harness
    async with api.client(api.keys["free"]) as client:
        live = await client.get("/sports/football/matches/live")
        assert live.status_code == 200, live.text
        body = live.json()
        assert set(body) == {"data", "next", "last_updated"}
        assert {m["match_id"] for m in body["data"]} == {990101}
        assert set(body["data"][0]) == UPDATE_KEYS
        everywhere = (await client.get("/matches/live")).json()
        assert everywhere["data"] == body["data"]
        detail = await client.get("/sports/football/matches/990101")
        assert detail.status_code == 200
        match = detail.json()["data"]
        assert UPDATE_KEYS | {"events", "start_time"} == set(match)
        assert {k: match[k] for k in UPDATE_KEYS} == body["data"][0]
        timeline = match["events"]
        assert all(set(e) == EVENT_KEYS for e in timeline)
        assert published and all(p in timeline for p in published)
        assert [e["event_id"] for e in timeline] == [
            e["event_id"]
            for e in sorted(timeline, key=lambda e: (int(e["time"].split(":")[0]), e["timestamp"]))
        ]


async def test_reference_lists_and_a_days_matches(
    harness: tuple[Harness, list[dict[str, object]]],
) -> None:
    api, _ = harness
    async with api.client(api.keys["pro"]) as client:
        sports = (await client.get("/sports")).json()
        assert [s["sport_id"] for s in sports["data"]] == ["basketball", "football"]
        leagues = (await client.get("/sports/football/leagues")).json()["data"]
        assert LEAGUE in {league["league_id"] for league in leagues}
        day = await client.get(f"/sports/football/leagues/{LEAGUE}/matches?date=2026-10-03")
        assert day.status_code == 200
        statuses = {m["match_id"]: m["status"] for m in day.json()["data"]}
        assert statuses[990101] in ("live", "break") and statuses[990102] == "scheduled"
        only = await client.get(
            f"/sports/football/leagues/{LEAGUE}/matches", params={"status": "scheduled"}
        )
        assert 990101 not in {m["match_id"] for m in only.json()["data"]}
        team = await client.get(
            "/sports/football/teams/90101/matches",
            params={"from": "2026-10-01", "to": "2026-10-03"},
        )
        assert [m["match_id"] for m in team.json()["data"]] == [990101]
        table = await client.get(f"/sports/football/leagues/{LEAGUE}/standings")
        assert table.status_code == 200, table.text
        assert table.json()["data"]["league_id"] == LEAGUE and table.json()["data"]["standings"]


async def test_every_list_walks_page_by_page_with_next_links(
    harness: tuple[Harness, list[dict[str, object]]],
) -> None:
    api, _ = harness
    async with api.client(api.keys["pro"]) as client:
        for first in (
            "/sports?limit=1",
            "/sports/football/leagues?limit=1",
            f"/sports/football/leagues/{LEAGUE}/matches?date=2026-10-03&limit=1",
        ):
            seen: list[object] = []
            url: str | None = first
            while url is not None:
                page = await client.get(url.removeprefix("/api/v1"))
                assert page.status_code == 200, (url, page.text)
                body = page.json()
                assert len(body["data"]) <= 1
                seen += [orjson.dumps(item) for item in body["data"]]
                url = body["next"]
            assert len(seen) == len(set(seen)) >= 2, first


async def test_freshness_etag_304_and_gzip(
    harness: tuple[Harness, list[dict[str, object]]],
) -> None:
    api, _ = harness
    async with api.client(api.keys["pro"]) as client:
        first = await client.get("/sports/football/matches/990101")
        tag = first.headers["etag"]
        assert tag.startswith('"') and not tag.startswith("W/")
        assert first.headers["cache-control"].startswith("private, max-age=")
        again = await client.get("/sports/football/matches/990101", headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tag and "ratelimit-remaining" in again.headers
        big = await client.get(
            f"/sports/football/leagues/{LEAGUE}/matches?date=2026-10-03",
            headers={"Accept-Encoding": "gzip"},
        )
        assert big.headers["content-encoding"] == "gzip"
        assert big.num_bytes_downloaded < len(big.content)  # httpx decoded the gzip body
        assert big.headers["etag"].endswith('-gz"')
        unchanged = await client.get(
            f"/sports/football/leagues/{LEAGUE}/matches?date=2026-10-03",
            headers={"Accept-Encoding": "gzip", "If-None-Match": big.headers["etag"]},
        )
        assert unchanged.status_code == 304


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/sports?limit=0", "limit"),
        ("/sports?limit=201", "limit"),
        ("/sports?limit=ten", "limit"),
        ("/sports?limit=%C2%B2", "limit"),  # "²" is a digit to str.isdigit, not to int()
        ("/sports/football/matches/%C2%B2", "id"),
        ("/sports?cursor=%%%", "cursor"),
        (f"/sports/football/leagues/{LEAGUE}/matches?date=2026-13-01", "date"),
        (f"/sports/football/leagues/{LEAGUE}/matches?date=yesterday", "date"),
        (f"/sports/football/leagues/{LEAGUE}/matches?date=2026-W40-1", "date"),
        (f"/sports/football/leagues/{LEAGUE}/matches?status=playing", "status"),
        ("/sports/football/matches/abc", "id"),
        ("/sports/football/teams/90101/matches?from=2026-10-05&to=2026-10-01", "to"),
        ("/sports/football/teams/90101/matches?from=10/01/2026", "from"),
    ],
)
async def test_a_bad_parameter_is_a_422_problem_naming_it(
    engine: Engine, fake_clock: FakeClock, path: str, parameter: str
) -> None:
    """Parameters are checked before any lookup, so an empty store answers the same."""
    api = Harness.build(engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock)
    async with api.client(api.keys["enterprise"]) as client:
        response = await client.get(path)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["parameter"] == parameter
    assert {"type", "title", "detail"} <= set(problem)


async def test_a_cursor_from_another_list_is_refused(
    harness: tuple[Harness, list[dict[str, object]]],
) -> None:
    api, _ = harness
    async with api.client(api.keys["pro"]) as client:
        page = (await client.get("/sports?limit=1")).json()
        cursor = page["next"].split("cursor=")[1]
        response = await client.get(f"/sports/football/leagues?cursor={cursor}")
    assert response.status_code == 422 and response.json()["parameter"] == "cursor"


async def test_refusals_are_problems_that_say_which(
    harness: tuple[Harness, list[dict[str, object]]], caplog: pytest.LogCaptureFixture
) -> None:
    api, _ = harness
    expiring = api.issue("pro", expires_in_s=60)
    caplog.set_level(logging.DEBUG)
    cases: list[tuple[dict[str, str], str, int, str]] = [
        ({}, "/sports", 401, "missing_key"),
        (
            {"Authorization": "Basic YTpi", "X-API-Key": api.keys["pro"]},
            "/sports",
            401,
            "invalid_key",
        ),
        ({"Authorization": "Bearer pk_nothing.here"}, "/sports", 401, "invalid_key"),
        (
            {"X-API-Key": api.keys["free"]},
            "/sports/football/teams/90101/matches",
            403,
            "resource_not_in_tier",
        ),
        (
            {"X-API-Key": api.keys["free"]},
            "/sports/football/leagues/x/standings",
            403,
            "resource_not_in_tier",
        ),
        (
            {"X-API-Key": api.keys["free"]},
            f"/sports/football/leagues/{LEAGUE}/matches?date=2026-09-01",
            403,
            "history_out_of_range",
        ),
        ({"X-API-Key": api.keys["pro"]}, f"/sports?api_key={api.keys['pro']}", 401, "key_in_url"),
    ]
    async with api.client() as client:
        for headers, path, status, reason in cases:
            response = await client.get(path, headers=headers)
            assert response.status_code == status, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["reason"] == reason
        api.clock.advance(61)
        expired = await client.get("/sports", headers={"X-API-Key": expiring})
        assert (expired.status_code, expired.json()["reason"]) == (401, "expired_key")
        for path in (
            "/sports/hockey/matches/live",
            "/sports/football/matches/123456",
            "/sports/football/teams/1/matches",
            "/sports/football/leagues/no-such-league/standings",
            "/sports/football/nothing",
        ):
            response = await client.get(path, headers={"X-API-Key": api.keys["enterprise"]})
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
    # The server side only: the test's own HTTP client logs the URLs it requests, which is
    # exactly why a key must never travel in one.
    server_log = "\n".join(
        r.getMessage() + str(r.exc_info or "") for r in caplog.records if r.name != "httpx"
    )
    for key in api.keys.values():
        assert key.split(".")[-1] not in server_log


async def test_a_store_that_fails_is_a_503_problem_and_writes_are_405(
    fake_clock: FakeClock, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from dataapi.store import create_engine_for_url

    engine = create_engine_for_url(sqlite_url)  # never migrated: every query fails
    try:
        api = Harness.build(engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock)
        async with api.client(api.keys["pro"]) as client:
            failed = await client.get("/sports/football/leagues")
            assert failed.status_code == 503
            assert failed.headers["content-type"] == "application/problem+json"
            assert "no such table" not in failed.text  # no internals leak
            written = await client.post("/sports")
            assert written.status_code == 405 and written.headers["allow"] == "GET, HEAD"
            assert written.headers["content-type"] == "application/problem+json"
            assert (await client.get("/sports")).status_code == 200  # and it goes on
    finally:
        engine.dispose()
    assert "Traceback" not in caplog.text


async def test_a_revoked_key_and_history_beyond_the_tier_are_refused(
    fake_clock: FakeClock, engine: Engine
) -> None:
    import dataclasses
    from datetime import UTC, datetime

    from dataapi.store import SqlMatchStore
    from poller.model import Match, StatusBucket, Team
    from poller.record import RecordBatch

    old = Match(
        match_id=42,
        sport="football",
        league_id=39,
        league_name="Premier League",
        season="2026",
        status=StatusBucket.FINISHED,
        status_short="FT",
        home=Team(1, "A", 2),
        away=Team(2, "B", 0),
        period="Full Time",
        clock="90:00",
        elapsed=90,
        start_time=int(SAMPLE_DAY) - 30 * 86_400,
    )
    SqlMatchStore(engine=engine).record(
        RecordBatch("football", (old,), {39: "premier-league"}, (), SAMPLE_DAY)
    )
    api = Harness.build(engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock)
    async with api.client() as client:
        for tier, status in (("free", 403), ("pro", 200), ("enterprise", 200)):
            response = await client.get(
                "/sports/football/matches/42", headers={"X-API-Key": api.keys[tier]}
            )
            assert response.status_code == status, (tier, response.text)
        refused = await client.get(
            "/sports/football/matches/42", headers={"X-API-Key": api.keys["free"]}
        )
        assert refused.json()["reason"] == "history_out_of_range"
        key_id = api.keys["pro"].removeprefix("pk_").split(".")[0]
        record = api.store.get(key_id)
        assert record is not None
        now = datetime.fromtimestamp(fake_clock.time(), UTC)
        api.store.put(dataclasses.replace(record, revoked_at=now))
        api.clock.advance(60)  # past the verification cache's 30 s, as without Redis
        revoked = await client.get("/sports", headers={"X-API-Key": api.keys["pro"]})
        assert (revoked.status_code, revoked.json()["reason"]) == (401, "revoked_key")
