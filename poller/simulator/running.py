"""The simulator as the embedded demo upstream: a seeded day on a fast clock, over loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from poller.clock import Clock, ScaledClock, SystemClock
from poller.simulator.app import Simulator, build_app
from poller.simulator.demo import demo_day
from poller.simulator.quota import Account
from poller.simulator.server import serve
from poller.simulator.world import World

__all__ = ["DEMO_KEY", "RunningSimulation", "simulation"]

DEMO_KEY = "demo-key"
#: The demo starts just before the 13:00 kick-off (the VAR match), with the 12:00 match live.
START_OFFSET_S = 12 * 3600 + 55 * 60


@dataclass(frozen=True, slots=True)
class RunningSimulation:
    base_url: str
    simulator: Simulator
    clock: Clock


@contextlib.asynccontextmanager
async def simulation(
    *,
    seed: int = 7,
    speed: float = 10.0,
    wall: Clock | None = None,
    daily_limit: int = 7_500,
    minute_limit: int = 300,
    port: int = 0,
    start_offset_s: float = START_OFFSET_S,
    football_spacing_s: float = 3600.0,
) -> AsyncIterator[RunningSimulation]:
    """Serve a seeded demo day on 127.0.0.1:<free port>, ``speed`` times faster than ``wall``.

    The virtual day starts ``start_offset_s`` after midnight. The poller must use the yielded
    ``clock`` too, so both sides agree on virtual time.
    """
    wall = wall if wall is not None else SystemClock()
    day_start = wall.time() // 86_400 * 86_400
    clock = ScaledClock(day_start + start_offset_s, speed, wall)
    day = demo_day(seed, day_start, football_spacing_s=football_spacing_s)
    world = World(day, clock=clock)
    account = Account(DEMO_KEY, daily_limit=daily_limit, minute_limit=minute_limit, plan="Pro")
    sim = Simulator(world=world, accounts={DEMO_KEY: account})
    async with serve(build_app(sim), port=port) as url:
        yield RunningSimulation(url, sim, clock)
