from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx
import orjson

from poller.clock import FakeClock
from poller.config import PollerSettings, simulated_hosts
from poller.metrics import PollerMetrics
from poller.providers.apisports import ApiSportsProvider
from poller.publish import CallbackPublisher
from poller.service import build_pollers, embedded, running_poller
from poller.simulator.app import Simulator
from poller.simulator.faults import Fault, FaultKind
from poller.snapshots import MemorySnapshots
from tests.poller.conftest import PAID_KEY, SAMPLE_DAY
from tests.poller.helpers import RecordingPublisher


async def wait_for(predicate: Callable[[], object], timeout_s: float = 5.0) -> None:
    """A bounded wait for real-time machinery (scheduler ticks, uvicorn)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_embedded_mode_delivers_frames_from_the_simulator() -> None:
    frames: list[tuple[str, str, bytes]] = []
    async with embedded(lambda *a: frames.append(a), app_id="7", speed=60.0, tick_s=0.02):
        await wait_for(lambda: any(b"match.update" in f[2] for f in frames))
    app_ids = {a for a, _, _ in frames}
    channels = {c for _, c, _ in frames}
    assert app_ids == {"7"}
    assert "sports.football" in channels and "sports.basketball" in channels
    frame = orjson.loads(next(f for _, c, f in frames if c == "sports.football"))
    assert isinstance(frame["data"], str) and orjson.loads(frame["data"])["sport_id"] == "football"


def settings_for(url: str) -> PollerSettings:
    from poller.config import Secret

    return PollerSettings(
        hosts=simulated_hosts(url, ("football",)),
        api_key=Secret(PAID_KEY),
        daily_limit=7_500,
        minute_limit=300,
    )


async def test_scheduler_steps_on_the_injected_clock_and_stops_in_bounded_time(
    sim_url: str, fake_clock: FakeClock, simulator: Simulator
) -> None:
    fake_clock.set(SAMPLE_DAY + 13 * 3600)
    pub = RecordingPublisher()
    async with httpx.AsyncClient() as http:
        async with running_poller(
            settings_for(sim_url),
            publisher=pub,
            clock=fake_clock,
            http=http,
            tick_s=0.01,
            shutdown_timeout_s=0.1,
        ):
            await wait_for(lambda: len(simulator.log) >= 2)  # live + fixtures at start
            calls = len(simulator.log)
            await asyncio.sleep(0.05)
            assert len(simulator.log) == calls  # the fake clock has not moved: nothing is due
            fake_clock.advance(20)
            await wait_for(lambda: len(simulator.log) > calls)
            simulator.faults.add(Fault(FaultKind.SLOW, delay_s=0.5))
            fake_clock.advance(20)
            await asyncio.sleep(0.1)  # the next tick is now waiting on the slow answer
            loop = asyncio.get_running_loop()
            started = loop.time()
        assert loop.time() - started < 0.4  # abandoned after the 0.1 s shutdown bound
    assert pub.messages


async def test_build_pollers_gives_each_sport_its_own_quota_and_breaker() -> None:
    settings = PollerSettings(hosts=simulated_hosts("http://127.0.0.1:1", ("football", "baseball")))
    clock = FakeClock(0.0)
    async with httpx.AsyncClient() as http:
        provider = ApiSportsProvider(client=http, hosts=settings.hosts, api_key=None, clock=clock)
        pollers = build_pollers(
            settings,
            provider=provider,
            publisher=CallbackPublisher(deliver=lambda *a: None),
            snapshots=MemorySnapshots(),
            clock=clock,
            rng=random.Random(1),
            metrics=PollerMetrics(),
        )
    assert [p.sport for p in pollers] == ["football", "baseball"]
    assert pollers[0].p.budget is not pollers[1].p.budget
    assert pollers[0].p.breaker is not pollers[1].p.breaker


async def test_embedded_with_a_key_polls_the_configured_upstream_in_real_time(
    sim_url: str, simulator: Simulator
) -> None:
    frames: list[tuple[str, str, bytes]] = []
    environ = {
        "RAPIDAPI_KEY": PAID_KEY,
        "RAPIDAPI_BASE_URL": f"{sim_url}/football",
        "POLLER_SPORTS": "football",
    }
    async with embedded(lambda *a: frames.append(a), environ=environ, tick_s=0.02):
        await wait_for(lambda: len(simulator.log) >= 1)
    assert simulator.log[0].path == "fixtures" and simulator.log[0].status == 200
