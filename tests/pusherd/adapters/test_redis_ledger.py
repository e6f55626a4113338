"""The Redis node's in-memory ledger: presence it vouches for, the bounded repair queue, locks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pusherd.adapters.redis_ledger import ChannelLocks, PresenceLedger, RepairQueue


def test_the_ledger_reports_a_users_last_socket_on_this_node() -> None:
    ledger = PresenceLedger()
    ledger.add("3", "presence-a", "1", '{"n":1}', "1.1")
    ledger.add("3", "presence-a", "1", '{"n":"other tab"}', "1.2")
    ledger.add("3", "presence-a", "2", "null", "1.3")
    assert ledger.snapshot("3", "presence-a") == {"1": (2, '{"n":1}'), "2": (1, "null")}
    assert ledger.remove("3", "presence-a", "1", "1.1") is False
    assert ledger.remove("3", "presence-a", "1", "9.9") is False  # never joined
    assert ledger.remove("3", "presence-a", "1", "1.2") is True
    assert ledger.remove("3", "presence-a", "2", "1.3") is True
    assert ledger.snapshot("3", "presence-a") == {}
    assert list(ledger.channels()) == []


def test_the_repair_queue_is_bounded_and_counts_what_it_cannot_hold(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = RepairQueue(max_channels=2)
    queue.add("3", "a", "1")
    queue.add("3", "b")
    queue.add("3", "a", "2")  # an existing entry grows its users, not the queue
    assert (len(queue), queue.overflows, queue.is_everything) == (2, 0, False)
    with caplog.at_level(logging.WARNING, logger="pusherd.adapters.redis"):
        queue.add("3", "c", "7")
        queue.add("3", "d")
    assert (len(queue), queue.overflows, queue.is_everything) == (2, 2, True)
    assert queue.gone_users("3", "a") == {"1", "2"}
    assert queue.gone_users("3", "c") == set()
    assert "repair queue full" in caplog.text
    queue.done("3", "a")
    assert queue.channels() == [("3", "b")]


async def test_channel_locks_serialise_one_channel_and_leave_nothing_behind() -> None:
    locks = ChannelLocks()
    order: list[str] = []

    async def hold(name: str, channel: str) -> None:
        async with locks.hold("3", channel):
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(hold("first", "a"), hold("second", "a"))
    assert order == ["first in", "first out", "second in", "second out"]
    order.clear()
    await asyncio.gather(hold("x", "a"), hold("y", "b"))
    assert order[:2] == ["x in", "y in"]  # other channels do not wait
    assert len(locks) == 0
