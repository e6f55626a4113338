"""Clocks and socket ids as parameters (house rule 6; reference §1.3)."""

from __future__ import annotations

import random
import re
import time

from pusherd.clock import Clock, FakeClock, IdFactory, SystemClock

SOCKET_ID = re.compile(r"\A\d+\.\d+\Z")


def test_system_clock_reads_both_clocks() -> None:
    clock: Clock = SystemClock()
    assert abs(clock.time() - time.time()) < 5
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(start_unix_s=1_353_088_179.0)
    assert clock.time() == 1_353_088_179.0
    start = clock.monotonic()
    assert clock.monotonic() == start
    clock.advance(2.5)
    assert clock.time() == 1_353_088_181.5
    assert clock.monotonic() == start + 2.5


def test_socket_ids_have_the_shape_every_sdk_checks() -> None:
    """§1.3, checklist 1: ``^\\d+\\.\\d+$`` (PHP, Python and Node SDKs reject anything else)."""
    ids = IdFactory(random.Random(7))
    for _ in range(100):
        assert SOCKET_ID.match(ids.socket_id())


def test_socket_ids_are_deterministic_for_a_seed() -> None:
    first = [IdFactory(random.Random(42)).socket_id() for _ in range(3)]
    assert first[0] == first[1] == first[2]
    other = IdFactory(random.Random(43)).socket_id()
    assert other != first[0]


def test_ten_thousand_socket_ids_are_distinct() -> None:
    """Checklist 3."""
    ids = IdFactory(random.Random(0))
    assert len({ids.socket_id() for _ in range(10_000)}) == 10_000
