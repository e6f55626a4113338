"""The fake upstream's reference data: sample shapes, coverage, and tables that follow results."""

from __future__ import annotations

from typing import Any

from poller.clock import FakeClock
from poller.simulator.demo import demo_day
from poller.simulator.endpoints import answer
from poller.simulator.world import World
from tests.poller.conftest import SAMPLE_DAY


def world_at(offset_s: float) -> World:
    return World(demo_day(7, SAMPLE_DAY), clock=FakeClock(SAMPLE_DAY + offset_s))


def played(world: World) -> list[int]:
    rows: list[dict[str, Any]] = world.standings(90010, "2026")[0]["league"]["standings"][0]
    return [row["all"]["played"] for row in rows]


def test_the_table_counts_a_result_once_the_match_is_over() -> None:
    assert sum(played(world_at(13 * 3600))) == 0
    assert sum(played(world_at(14 * 3600))) == 2  # the 12:00 match ended at 13:50
    assert sum(played(world_at(23 * 3600))) == 8  # four league results (the sixth: postponed)


def test_league_coverage_says_which_have_a_table() -> None:
    world = world_at(0)
    coverage = {
        item["league"]["id"]: item["seasons"][0]["coverage"]["standings"]
        for item in world.leagues("football")
    }
    assert coverage == {90010: True, 90020: False}
    flat = world.leagues("basketball")[0]  # the v1 hosts' items are flat
    assert flat["id"] == 90040 and flat["seasons"][0]["season"] == "2026-2027"


def test_validation_of_the_reference_endpoints() -> None:
    world = world_at(0)
    no_season = answer(world, "football", "teams", {"league": "90010"}, gate_free_ids=False)
    assert no_season.errors == {"season": "The Season field is required."}
    other = answer(world, "basketball", "standings", {"league": "1"}, gate_free_ids=False)
    assert other.errors == {"endpoint": "This endpoint do not exist."}
    unknown = answer(
        world, "football", "standings", {"league": "1", "season": "2026"}, gate_free_ids=False
    )
    assert unknown.errors == {} and unknown.response == []
