"""Signed delivery to a real receiver on loopback (§5.6, §10.1, §10.2; checklist 85, 89, 90).

Retry delays and the give-up limit are scaled down through :class:`RetryPolicy`; every wait is on
a condition and bounded (``receiver.WAIT_S``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pusher
import pytest

from pusherd.clock import SystemClock
from pusherd.config import AppConfig, Secret, WebhookTarget
from pusherd.webhooks.events import (
    CacheMiss,
    ChannelOccupied,
    ClientEvent,
    MemberAdded,
    SubscriptionCount,
)
from pusherd.webhooks.sender import ID_HEADER, RetryPolicy, WebhookSender
from tests.pusherd.webhooks.receiver import WAIT_S, closed_port, node_validate, run_receiver

APP_ID = "3"
KEY = "278d425bdf160c739803"
SECRET = "7ad3773142a6692b25b8"
FAST = RetryPolicy(base_delay_s=0.05, max_delay_s=1.0, give_up_after_s=1.2, request_timeout_s=2.0)


def make_app(*targets: WebhookTarget, batching: bool = False) -> AppConfig:
    return AppConfig(APP_ID, KEY, Secret(SECRET), webhooks=targets, webhook_batching=batching)


@asynccontextmanager
async def running_sender(app: AppConfig, **options: Any) -> AsyncIterator[WebhookSender]:
    async with httpx.AsyncClient() as http:
        sender = WebhookSender(
            apps=[app], http=http, clock=SystemClock(), rng=random.Random(7), **options
        )
        await sender.start()
        try:
            yield sender
        finally:
            await sender.stop(grace_s=0.5)


async def until(condition: Callable[[], bool]) -> None:
    """Bounded wait for a condition the receiver cannot signal (the sender's counters)."""
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await asyncio.sleep(0.005)


async def test_request_is_signed_over_the_exact_body_reference_10_1() -> None:
    async with run_receiver() as receiver, running_sender(make_app(WebhookTarget(receiver.url))):
        pass
    # (an empty run sends nothing)
    assert receiver.requests == []

    async with run_receiver() as receiver:
        async with running_sender(make_app(WebhookTarget(receiver.url))) as sender:
            sender.submit(APP_ID, ChannelOccupied("my-channel"))
            (request,) = await receiver.wait_for_requests(1)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-pusher-key"] == KEY
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-pusher-signature"] == expected
    assert len(request.headers[ID_HEADER.lower()]) == 32
    body = request.json
    assert list(body) == ["time_ms", "events"]
    assert body["events"] == [{"name": "channel_occupied", "channel": "my-channel"}]
    assert abs(body["time_ms"] - time.time() * 1000) < 5_000
    assert request.body == request.body.strip()  # compact orjson, signed byte for byte


async def test_python_sdk_validate_webhook_accepts_it_checklist_85() -> None:
    client = pusher.Pusher(app_id=APP_ID, key=KEY, secret=SECRET)
    async with run_receiver() as receiver:
        async with running_sender(make_app(WebhookTarget(receiver.url))) as sender:
            sender.submit(APP_ID, ClientEvent("presence-m", "client-x", '{"a":"é"}', "1.2", "42"))
            (request,) = await receiver.wait_for_requests(1)
    signature = request.headers["x-pusher-signature"]
    data = client.validate_webhook(KEY, signature, request.body.decode())
    assert data is not None
    assert data["events"][0]["data"] == '{"a":"é"}'
    assert client.validate_webhook(KEY, signature, request.body.decode() + " ") is None
    assert client.validate_webhook("other-key", signature, request.body.decode()) is None


@pytest.mark.node
async def test_node_sdk_webhook_is_valid_checklist_85() -> None:
    async with run_receiver() as receiver:
        async with running_sender(make_app(WebhookTarget(receiver.url))) as sender:
            sender.submit(APP_ID, MemberAdded("presence-m", "42"))
            (request,) = await receiver.wait_for_requests(1)
    credentials = {"app_id": APP_ID, "key": KEY, "secret": SECRET}
    try:
        verdict = await node_validate(**credentials, headers=request.headers, body=request.body)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    assert verdict == {
        "valid": True,
        "events": [{"name": "member_added", "channel": "presence-m", "user_id": "42"}],
    }
    tampered = request.body.replace(b"42", b"43")
    verdict = await node_validate(**credentials, headers=request.headers, body=tampered)
    assert verdict["valid"] is False


async def test_any_2xx_is_delivered_reference_10_2() -> None:
    async with run_receiver() as receiver:
        receiver.statuses.extend([204, 202])
        async with running_sender(make_app(WebhookTarget(receiver.url))) as sender:
            sender.submit(APP_ID, CacheMiss("cache-a"))
            sender.submit(APP_ID, CacheMiss("cache-b"))
            await receiver.wait_for_requests(2)
            await until(lambda: sender.delivered == 2)
            assert sender.outbox_size == 0
    assert len(receiver.requests) == 2


async def test_batching_on_puts_events_of_one_window_in_one_post_checklist_90() -> None:
    async with run_receiver() as receiver:
        app = make_app(WebhookTarget(receiver.url), batching=True)
        async with running_sender(app, batch_window_s=0.05) as sender:
            for count in range(1, 6):
                sender.submit(APP_ID, SubscriptionCount("m", count))
            events = await receiver.wait_for_events(5)
    assert len(receiver.requests) == 1
    assert [event["subscription_count"] for event in events] == [1, 2, 3, 4, 5]


async def test_batching_caps_events_per_post() -> None:
    async with run_receiver() as receiver:
        app = make_app(WebhookTarget(receiver.url), batching=True)
        async with running_sender(app, max_batch_events=2) as sender:
            for count in range(5):
                sender.submit(APP_ID, SubscriptionCount("m", count))
            await receiver.wait_for_events(5)
    assert sorted(len(request.events) for request in receiver.requests) == [1, 2, 2]


async def test_batching_off_sends_one_event_per_post_checklist_90() -> None:
    async with run_receiver() as receiver:
        async with running_sender(make_app(WebhookTarget(receiver.url))) as sender:
            for count in range(1, 6):
                sender.submit(APP_ID, SubscriptionCount("m", count))
            await receiver.wait_for_requests(5)
    assert [len(request.events) for request in receiver.requests] == [1] * 5
    ids = {request.headers[ID_HEADER.lower()] for request in receiver.requests}
    assert len(ids) == 5


async def test_each_target_gets_what_it_wants() -> None:
    async with run_receiver() as receiver:
        everything = WebhookTarget(receiver.url + "/all")
        occupied = WebhookTarget(receiver.url + "/occupied", event_types=("channel_occupied",))
        presence = WebhookTarget(receiver.url + "/presence", channel_prefix="presence-")
        async with running_sender(make_app(everything, occupied, presence)) as sender:
            sender.submit(APP_ID, ChannelOccupied("presence-a"))
            sender.submit(APP_ID, MemberAdded("presence-a", "u"))
            sender.submit(APP_ID, ChannelOccupied("b"))
            sender.submit("999", ChannelOccupied("not-our-app"))
            await receiver.wait_for_requests(7)
            await until(lambda: sender.delivered == 7)
    by_path: dict[str, list[str]] = {}
    for request in receiver.requests:
        for event in request.events:
            by_path.setdefault(request.path.rsplit("/", 1)[1], []).append(
                f"{event['name']}:{event['channel']}"
            )
    assert sorted(by_path["all"]) == [
        "channel_occupied:b",
        "channel_occupied:presence-a",
        "member_added:presence-a",
    ]
    assert sorted(by_path["occupied"]) == ["channel_occupied:b", "channel_occupied:presence-a"]
    assert sorted(by_path["presence"]) == ["channel_occupied:presence-a", "member_added:presence-a"]


async def test_500_is_retried_with_growing_delays_then_abandoned_checklist_89(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pusherd.webhooks")
    async with run_receiver(default_status=500) as receiver:
        async with running_sender(make_app(WebhookTarget(receiver.url)), retry=FAST) as sender:
            sender.submit(APP_ID, ChannelOccupied("a"))
            await until(lambda: sender.given_up == 1)
            # Abandoned: nothing is held any more, so no further attempt can happen.
            assert sender.outbox_size == 0
            assert sender.delivered == 0
    requests = receiver.requests
    gaps = [later.at - earlier.at for earlier, later in zip(requests, requests[1:], strict=False)]
    # Waits of 0.05·2ⁿ·(0.75…1) s: with seed 7 the fifth attempt starts at 0.68 s, and a sixth
    # would start at 1.47 s, past the 1.2-s limit.
    assert len(requests) == 5, gaps
    # Each gap is at least its wait, whose lower bound doubles; loopback overhead only adds.
    assert all(gap >= 0.0375 * 2**n for n, gap in enumerate(gaps)), gaps
    assert gaps[-1] > 3 * gaps[0], gaps
    # Retries resend the same bytes, signature and id (§10.2), so receivers can de-duplicate.
    assert len({request.body for request in requests}) == 1
    assert len({request.headers["x-pusher-signature"] for request in requests}) == 1
    assert len({request.headers[ID_HEADER.lower()] for request in requests}) == 1
    assert "abandoned after 5 attempt(s)" in caplog.text
    assert SECRET not in caplog.text


async def test_a_retry_that_succeeds_is_delivered_once_with_the_same_id() -> None:
    async with run_receiver() as receiver:
        receiver.statuses.extend([500, 503])
        async with running_sender(make_app(WebhookTarget(receiver.url)), retry=FAST) as sender:
            sender.submit(APP_ID, ChannelOccupied("a"))
            await until(lambda: sender.delivered == 1)
    assert [request.headers[ID_HEADER.lower()] for request in receiver.requests].count(
        receiver.requests[0].headers[ID_HEADER.lower()]
    ) == 3


async def test_a_slow_receiver_times_out_and_is_retried() -> None:
    retry = RetryPolicy(base_delay_s=0.01, give_up_after_s=5.0, request_timeout_s=0.2)
    async with run_receiver() as receiver:
        receiver.delays_s.append(0.6)
        async with running_sender(make_app(WebhookTarget(receiver.url)), retry=retry) as sender:
            sender.submit(APP_ID, ChannelOccupied("a"))
            await until(lambda: sender.delivered == 1)
    assert len(receiver.requests) == 2


def test_backoff_schedule_defaults_are_pushers() -> None:
    policy = RetryPolicy()
    assert policy.give_up_after_s == 300.0
    rng = random.Random(1)
    delays = [policy.delay(n, rng) for n in range(12)]
    for n, delay in enumerate(delays):
        ceiling = min(60.0, 2.0**n)
        assert 0.75 * ceiling <= delay <= ceiling
    assert policy.delay(10_000, rng) <= 60.0


async def test_unreachable_receiver_costs_bounded_memory_and_counts_drops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="pusherd.webhooks")
    url = f"http://127.0.0.1:{closed_port()}/webhook"
    retry = RetryPolicy(base_delay_s=0.01, max_delay_s=0.05, give_up_after_s=60.0)
    async with running_sender(make_app(WebhookTarget(url)), max_outbox=5, retry=retry) as sender:
        for index in range(1_000):
            sender.submit(APP_ID, ChannelOccupied(f"c{index}"))
            assert sender.outbox_size <= 5
        assert sender.dropped == 995
        await asyncio.sleep(0)  # let the workers try; the outbox stays full while they retry
        assert sender.outbox_size == 5
        sender.submit(APP_ID, ChannelOccupied("one more"))
        assert sender.dropped == 996
    drops = [r for r in caplog.records if "outbox full" in r.getMessage()]
    assert len(drops) == 1 and drops[0].levelno == logging.WARNING  # rate-limited, not per event
    assert "stopped with 5 event(s) undelivered" in caplog.text
    assert sender.outbox_size == 0


async def test_stop_flushes_queued_events_within_the_grace_period() -> None:
    async with run_receiver() as receiver:
        async with httpx.AsyncClient() as http:
            sender = WebhookSender(
                apps=[make_app(WebhookTarget(receiver.url), batching=True)],
                http=http,
                clock=SystemClock(),
                rng=random.Random(1),
                batch_window_s=60.0,  # stop must not wait for the window
            )
            await sender.start()
            for index in range(3):
                sender.submit(APP_ID, CacheMiss(f"cache-{index}"))
            async with asyncio.timeout(WAIT_S):
                await sender.stop(grace_s=5.0)
            assert sender.delivered == 3
    assert len(receiver.requests) >= 1
