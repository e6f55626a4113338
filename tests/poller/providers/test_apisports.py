from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from poller.clock import FakeClock
from poller.config import HostConfig, Secret
from poller.metrics import PollerMetrics
from poller.providers.apisports import ApiSportsProvider, classify_errors, parse_quota
from poller.providers.base import (
    AuthRejected,
    BadRequest,
    PlanRestricted,
    QuotaExhausted,
    RateLimited,
    Unavailable,
    UpstreamError,
)
from poller.simulator.app import Simulator
from poller.simulator.faults import Fault, FaultKind
from poller.simulator.quota import Account
from tests.poller.conftest import FREE_KEY, PAID_KEY, RAPID_KEY

SPORTS = ("football", "basketball", "baseball")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def direct(
    url: str,
    client: httpx.AsyncClient,
    clock: FakeClock,
    key: str = PAID_KEY,
    metrics: PollerMetrics | None = None,
    timeout_s: float = 2.0,
) -> ApiSportsProvider:
    hosts = {s: HostConfig(s, f"{url}/{s}") for s in SPORTS}
    return ApiSportsProvider(
        client=client,
        hosts=hosts,
        api_key=Secret(key),
        clock=clock,
        metrics=metrics,
        timeout_s=timeout_s,
    )


async def test_live_all_in_one_call_with_quota_headers(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    metrics = PollerMetrics()
    provider = direct(sim_url, client, fake_clock, metrics=metrics)
    fetch = await provider.live("football", day="2026-10-03")
    shorts = {item["fixture"]["status"]["short"] for item in fetch.items}
    assert shorts == {"1H", "HT"} and len(fetch.items) == 2
    assert fetch.quota.daily_limit == 7_500 and fetch.quota.daily_remaining == 7_499
    assert fetch.quota.minute_limit == 300 and fetch.quota.minute_remaining == 299
    assert [(r.path, r.params) for r in simulator.log] == [("fixtures", {"live": "all"})]
    assert (
        metrics.registry.get_sample_value(
            "poller_upstream_calls_total",
            {"sport": "football", "endpoint": "fixtures", "outcome": "ok"},
        )
        == 1
    )
    assert (
        metrics.registry.get_sample_value(
            "poller_upstream_quota_remaining", {"sport": "football", "window": "day"}
        )
        == 7_499
    )


async def test_other_sports_poll_the_day_list(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    provider = direct(sim_url, client, fake_clock)
    basket = await provider.live("basketball", day="2026-10-03")
    base = await provider.live("baseball", day="2026-10-03")
    assert len(basket.items) == 3 and len(base.items) == 2
    assert simulator.log[0].params == {"date": "2026-10-03", "timezone": "UTC"}


async def test_rapidapi_mode_sends_both_headers_and_v3(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    host = HostConfig(
        "football", f"{sim_url}/rapidapi/api-football-v1/v3", True, "api-football-v1.p.rapidapi.com"
    )
    provider = ApiSportsProvider(
        client=client, hosts={"football": host}, api_key=Secret(RAPID_KEY), clock=fake_clock
    )
    fetch = await provider.live("football", day="2026-10-03")
    assert len(fetch.items) == 2 and fetch.quota.daily_remaining == 7_499
    wrong = HostConfig(
        "football", f"{sim_url}/rapidapi/api-football-v1", True, "api-football-v1.p.rapidapi.com"
    )
    provider = ApiSportsProvider(
        client=client, hosts={"football": wrong}, api_key=Secret(RAPID_KEY), clock=fake_clock
    )
    with pytest.raises(BadRequest):
        await provider.live("football", day="2026-10-03")
    bad_key = ApiSportsProvider(
        client=client, hosts={"football": host}, api_key=Secret("nope"), clock=fake_clock
    )
    with pytest.raises(AuthRejected):
        await bad_key.live("football", day="2026-10-03")


async def test_bad_and_suspended_keys_are_auth_errors_inside_200(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    with pytest.raises(AuthRejected, match="token"):
        await direct(sim_url, client, fake_clock, key="unknown").live("football", day="x")
    simulator.accounts["sus"] = Account("sus", is_suspended=True)
    with pytest.raises(AuthRejected, match="suspended"):
        await direct(sim_url, client, fake_clock, key="sus").live("football", day="x")


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        (FaultKind.HTTP_500, Unavailable),
        (FaultKind.HTTP_499, Unavailable),
        (FaultKind.HTTP_502_HTML, Unavailable),
        (FaultKind.HTTP_503_HTML, Unavailable),
        (FaultKind.FIREWALL_403, Unavailable),
        (FaultKind.HTML_200, Unavailable),
        (FaultKind.TRUNCATED, Unavailable),
        (FaultKind.BUG_200, Unavailable),
        (FaultKind.RATE_LIMIT_200, RateLimited),
        (FaultKind.HTTP_429, RateLimited),
        (FaultKind.QUOTA_200, QuotaExhausted),
    ],
)
async def test_injected_failures_map_to_the_error_tree(
    sim_url: str,
    client: httpx.AsyncClient,
    fake_clock: FakeClock,
    simulator: Simulator,
    kind: FaultKind,
    error: type[UpstreamError],
) -> None:
    simulator.faults.add(Fault(kind))
    provider = direct(sim_url, client, fake_clock)
    with pytest.raises(error):
        await provider.live("football", day="x")
    assert len((await provider.live("football", day="x")).items) == 2  # next call is fine


async def test_timeout_is_unavailable(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    simulator.faults.add(Fault(FaultKind.TIMEOUT, delay_s=0.3))
    with pytest.raises(Unavailable, match="timeout"):
        await direct(sim_url, client, fake_clock, timeout_s=0.05).live("football", day="x")


async def test_free_plan_daily_and_minute_limits(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    provider = direct(sim_url, client, fake_clock, key=FREE_KEY)
    for _ in range(10):
        await provider.live("football", day="x")
    with pytest.raises(RateLimited) as minute:
        await provider.live("football", day="x")
    assert minute.value.quota.minute_remaining == 0
    simulator.overflow_mode = "http429"
    with pytest.raises(RateLimited):
        await provider.live("football", day="x")
    for _ in range(9):
        fake_clock.advance(61)
        for _ in range(10):
            await provider.live("football", day="x")
    fake_clock.advance(61)
    with pytest.raises(QuotaExhausted) as daily:
        await provider.live("football", day="x")
    assert daily.value.quota.daily_remaining == 0
    # Each sport host has its own quota.
    assert (await provider.live("basketball", day="2026-10-03")).quota.daily_remaining == 99


async def test_queue_mode_answers_late_instead_of_failing(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    simulator.overflow_mode, simulator.queue_delay_s = "queue", 0.05
    provider = direct(sim_url, client, fake_clock, key=FREE_KEY)
    for _ in range(11):
        await provider.live("football", day="x")
    assert len(simulator.calls()) == 11


async def test_identical_requests_in_flight_are_coalesced(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    simulator.faults.add(Fault(FaultKind.SLOW, delay_s=0.1))
    provider = direct(sim_url, client, fake_clock)
    results = await asyncio.gather(*(provider.live("football", day="x") for _ in range(5)))
    assert len(simulator.log) == 1 and all(r is results[0] for r in results)


async def test_coalesced_failure_reaches_every_waiter(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    simulator.faults.add(Fault(FaultKind.SLOW, delay_s=0.05))
    simulator.faults.add(Fault(FaultKind.HTTP_500))
    provider = direct(sim_url, client, fake_clock)
    await provider.live("football", day="x")
    outcomes = await asyncio.gather(
        *(provider.live("football", day="x") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, Unavailable) for o in outcomes)


async def test_ids_batches_up_to_twenty_and_falls_back_when_plan_refuses(
    sim_url: str, client: httpx.AsyncClient, fake_clock: FakeClock, simulator: Simulator
) -> None:
    provider = direct(sim_url, client, fake_clock)
    ids = list(range(990101, 990126))  # 25 ids, 6 exist
    fetch = await provider.by_ids("football", ids)
    assert len(fetch.items) == 6 and "lineups" in fetch.items[0]
    assert [len(r.params["ids"].split("-")) for r in simulator.log] == [20, 5]
    simulator.gate_free_ids = True
    free = direct(sim_url, client, fake_clock, key=FREE_KEY)
    fetch = await free.by_ids("football", [990101, 990102])
    assert len(fetch.items) == 2
    assert [r.params for r in simulator.log[2:]] == [
        {"ids": "990101-990102"},
        {"id": "990101"},
        {"id": "990102"},
    ]


def test_error_classification_and_quota_parsing() -> None:
    assert classify_errors({"token": "x"}) is AuthRejected
    assert classify_errors({"plan": "x"}) is PlanRestricted
    assert classify_errors({"time": "t", "bug": "b", "report": "r"}) is Unavailable
    assert classify_errors({"season": "x"}) is BadRequest
    quota = parse_quota(
        httpx.Headers({"X-RateLimit-Remaining": "7", "x-ratelimit-requests-remaining": "87"})
    )
    assert (quota.daily_remaining, quota.minute_remaining, quota.daily_limit) == (87, 7, None)


def test_secret_is_masked() -> None:
    assert "abc" not in repr(Secret("abc")) and Secret("abc").reveal() == "abc"


@asynccontextmanager
async def dripping_server(interval_s: float, body_bytes: int) -> AsyncIterator[str]:
    """A loopback HTTP server that sends its headers at once, then one body byte per
    ``interval_s``: every read arrives well inside a per-read timeout (issue 10, item 9)."""
    body = b'{"errors":[],"response":[]}'.ljust(body_bytes)
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n"
            writer.write(f"{head}Content-Type: application/json\r\n\r\n".encode())
            for i in range(len(body)):
                writer.write(body[i : i + 1])
                await writer.drain()
                await asyncio.sleep(interval_s)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client gave up, or the server is closing: either ends the drip
        finally:
            writer.close()
            handlers.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers)
        await server.wait_closed()


async def test_a_dripping_upstream_is_cut_at_the_timeout_of_the_whole_call(
    client: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    # 30 bytes, one every 0.2 s: 6 s in all, though no single read waits over 0.2 s.
    metrics = PollerMetrics()
    async with dripping_server(interval_s=0.2, body_bytes=30) as url:
        provider = direct(url, client, fake_clock, metrics=metrics, timeout_s=0.5)
        started = time.perf_counter()
        with pytest.raises(Unavailable, match="timeout"):
            await provider.live("football", day="2026-10-03")
        took = time.perf_counter() - started
    assert took < 1.5, f"the call took {took:.1f}s with timeout_s=0.5"
    labels = {"sport": "football", "endpoint": "fixtures", "outcome": "timeout"}
    assert metrics.registry.get_sample_value("poller_upstream_calls_total", labels) == 1
