"""The dispatcher end to end: rules + sender + a real receiver (§10.3, §10.4; checklist 84–88).

What a call puts in the outbox is known synchronously (``sender.outbox_size``), so "nothing else
is sent" is checked without waiting; the hold and the throttle window are scaled down.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from pusherd.clock import SystemClock
from pusherd.config import AppConfig, Secret, WebhookTarget
from pusherd.webhooks import WebhookDispatcher
from tests.pusherd.webhooks.receiver import WAIT_S, run_receiver

APP_ID = "3"
HOLD_S = 0.2


def make_app(url: str, app_id: str = APP_ID, **values: Any) -> AppConfig:
    targets = (WebhookTarget(url),) if url else ()
    return AppConfig(app_id, f"key-{app_id}", Secret("s3cret"), webhooks=targets, **values)


@asynccontextmanager
async def running(*apps: AppConfig, **options: Any) -> AsyncIterator[WebhookDispatcher]:
    async with httpx.AsyncClient() as http:
        dispatcher = WebhookDispatcher(
            apps=apps, http=http, clock=SystemClock(), rng=random.Random(3), **options
        )
        await dispatcher.start()
        try:
            yield dispatcher
        finally:
            await dispatcher.stop()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await asyncio.sleep(0.005)


async def test_apps_without_targets_cost_nothing() -> None:
    async with run_receiver() as receiver:
        quiet = make_app("", app_id="4", subscription_count_enabled=True)
        async with running(quiet, make_app(receiver.url)) as dispatcher:
            dispatcher.channel_occupied("4", "a")
            dispatcher.channel_vacated("4", "a")
            dispatcher.member_added("4", "presence-a", "u")
            dispatcher.member_removed("4", "presence-a", "u")
            dispatcher.client_event("4", "private-a", "client-x", "{}", "1.1", None)
            dispatcher.cache_miss("4", "cache-a")
            dispatcher.cache_filled("4", "cache-a")
            dispatcher.subscription_count("4", "a", 3)
            dispatcher.channel_occupied("5", "unknown-app")
            assert dispatcher.sender.outbox_size == 0
    assert receiver.requests == []


async def test_vacated_comes_after_the_hold_and_a_quick_return_sends_neither_checklist_84() -> None:
    async with run_receiver() as receiver:
        async with running(make_app(receiver.url), hold_s=HOLD_S) as dispatcher:
            started = time.monotonic()
            dispatcher.channel_occupied(APP_ID, "a")
            dispatcher.channel_vacated(APP_ID, "a")
            dispatcher.channel_occupied(APP_ID, "a")  # back within the hold: both suppressed
            assert dispatcher.sender.outbox_size == 1
            dispatcher.channel_vacated(APP_ID, "a")
            events = await receiver.wait_for_events(2)
            await until(lambda: dispatcher.sender.delivered == 2)
            assert dispatcher.sender.outbox_size == 0
    assert events == [
        {"name": "channel_occupied", "channel": "a"},
        {"name": "channel_vacated", "channel": "a"},
    ]
    assert receiver.requests[1].at - started >= HOLD_S


async def test_member_events_carry_only_the_id_and_rejoin_cancels_checklist_86() -> None:
    async with run_receiver() as receiver:
        async with running(make_app(receiver.url), hold_s=HOLD_S) as dispatcher:
            dispatcher.member_added(APP_ID, "presence-a", "u1")
            dispatcher.member_removed(APP_ID, "presence-a", "u1")
            dispatcher.member_added(APP_ID, "presence-a", "u1")
            dispatcher.member_removed(APP_ID, "presence-a", "u2")
            assert dispatcher.sender.outbox_size == 1
            events = await receiver.wait_for_events(2)
            await until(lambda: dispatcher.sender.delivered == 2)
            assert dispatcher.sender.outbox_size == 0
    assert events == [
        {"name": "member_added", "channel": "presence-a", "user_id": "u1"},
        {"name": "member_removed", "channel": "presence-a", "user_id": "u2"},
    ]


async def test_client_event_has_user_id_only_on_presence_channels_checklist_87() -> None:
    async with run_receiver() as receiver:
        app = make_app(receiver.url, webhook_batching=True)
        async with running(app) as dispatcher:
            dispatcher.client_event(APP_ID, "presence-m", "client-t", '{"t":1}', "1.2", "42")
            dispatcher.client_event(APP_ID, "private-m", "client-t", '"x"', "3.4", "42")
            events = await receiver.wait_for_events(2)
    assert events == [
        {
            "name": "client_event",
            "channel": "presence-m",
            "event": "client-t",
            "data": '{"t":1}',
            "socket_id": "1.2",
            "user_id": "42",
        },
        {
            "name": "client_event",
            "channel": "private-m",
            "event": "client-t",
            "data": '"x"',
            "socket_id": "3.4",
        },
    ]


async def test_ten_subscribers_of_an_empty_cache_channel_give_one_cache_miss_checklist_88() -> None:
    async with run_receiver() as receiver:
        async with running(make_app(receiver.url)) as dispatcher:
            for _ in range(10):
                dispatcher.cache_miss(APP_ID, "cache-x")
            assert dispatcher.sender.outbox_size == 1
            dispatcher.cache_filled(APP_ID, "cache-x")
            dispatcher.cache_miss(APP_ID, "cache-x")
            assert dispatcher.sender.outbox_size == 2
            events = await receiver.wait_for_events(2)
    assert events == [{"name": "cache_miss", "channel": "cache-x"}] * 2


async def test_subscription_count_is_opt_in_and_never_on_presence() -> None:
    async with run_receiver() as receiver:
        async with running(make_app(receiver.url)) as dispatcher:
            dispatcher.subscription_count(APP_ID, "m", 2)
            assert dispatcher.sender.outbox_size == 0
        app = make_app(receiver.url, subscription_count_enabled=True)
        async with running(app) as dispatcher:
            dispatcher.subscription_count(APP_ID, "presence-m", 2)
            dispatcher.subscription_count(APP_ID, "presence-cache-m", 2)
            assert dispatcher.sender.outbox_size == 0
            dispatcher.subscription_count(APP_ID, "m", 2)
            events = await receiver.wait_for_events(1)
    assert events == [{"name": "subscription_count", "channel": "m", "subscription_count": 2}]


async def test_big_channel_counts_are_throttled_and_the_latest_sent_at_window_end() -> None:
    async with run_receiver() as receiver:
        app = make_app(receiver.url, subscription_count_enabled=True)
        async with running(app, count_window_s=HOLD_S) as dispatcher:
            started = time.monotonic()
            for count in (101, 102, 103):
                dispatcher.subscription_count(APP_ID, "m", count)
            assert dispatcher.sender.outbox_size == 1
            events = await receiver.wait_for_events(2)
    assert [event["subscription_count"] for event in events] == [101, 103]
    assert receiver.requests[1].at - started >= HOLD_S


async def test_a_full_outbox_drops_and_counts() -> None:
    async with run_receiver() as receiver:
        async with running(make_app(receiver.url), max_outbox=1) as dispatcher:
            for index in range(3):
                dispatcher.client_event(APP_ID, "private-a", "client-x", str(index), "1.1", None)
            assert dispatcher.dropped == 2
            await receiver.wait_for_events(1)


async def test_stop_sends_what_is_still_held_and_later_calls_are_ignored() -> None:
    async with run_receiver() as receiver:
        async with running(make_app(receiver.url)) as dispatcher:  # default 3-s hold
            dispatcher.channel_vacated(APP_ID, "a")
            dispatcher.member_removed(APP_ID, "presence-a", "u")
            assert dispatcher.sender.outbox_size == 0
        assert dispatcher.sender.delivered == 2
        dispatcher.channel_occupied(APP_ID, "b")
        assert dispatcher.sender.outbox_size == 0
    names = sorted(event["name"] for request in receiver.requests for event in request.events)
    assert names == ["channel_vacated", "member_removed"]


def test_package_surface_is_pinned() -> None:
    import pusherd.webhooks

    assert sorted(pusherd.webhooks.__all__) == [
        "ID_HEADER",
        "RetryPolicy",
        "WebhookDispatcher",
        "WebhookEvent",
        "WebhookRules",
        "WebhookSender",
    ]
