"""The hand-over's presence grace as the channel actions run it (issue 14 item 6, kept through
issue 13's adapter interface): while draining, a presence member's leave reaches the adapter
only ``grace_s`` after the end of the spread; other leaves, and any leave when not draining,
go through at once."""

from __future__ import annotations

import asyncio

from pusherd.adapters.local import LocalAdapter
from pusherd.clock import FakeClock
from pusherd.config import AppConfig, Secret
from pusherd.handover import presence_leave_grace
from pusherd.protocol.session import Member, Session
from pusherd.readiness import Readiness
from pusherd.transport.actions import ChannelActions
from tests.pusherd.adapters.test_redis_departures import FakeConnection

APP = AppConfig(app_id="3", key="key-3", secret=Secret("secret-3"))
PRESENCE = "presence-room"
GRACE_S = 0.2


async def _joined(adapter: LocalAdapter) -> tuple[Session, FakeConnection]:
    conn = FakeConnection("1.1")
    session = Session(socket_id="1.1", app_key=APP.key, app_secret="secret-3", limits=APP.limits)
    await adapter.join(APP.app_id, PRESENCE, conn, Member("u1", {}), max_presence_members=9)
    await adapter.join(APP.app_id, "news", conn, None, max_presence_members=9)
    session.joined(PRESENCE, "u1")
    session.joined("news", None)
    return session, conn


async def test_while_draining_a_presence_leave_waits_for_the_grace_after_the_spread() -> None:
    adapter, readiness = LocalAdapter(clock=FakeClock()), Readiness()
    actions = ChannelActions(
        adapter=adapter,
        clock=FakeClock(),
        webhooks=None,
        presence_leave_wait=presence_leave_grace(readiness, GRACE_S),
    )
    session, conn = await _joined(adapter)
    loop = asyncio.get_running_loop()
    readiness.is_draining = True
    readiness.handover_ends_at = loop.time() + GRACE_S
    started = loop.time()
    await asyncio.wait_for(actions.leave(APP, session, conn, "news"), GRACE_S / 4)
    leaving = loop.create_task(actions.leave(APP, session, conn, PRESENCE))
    await asyncio.sleep(GRACE_S)
    # Still a member mid-grace: a client re-joining elsewhere meanwhile causes no removal.
    assert list(await adapter.members(APP.app_id, PRESENCE)) == ["u1"]
    await asyncio.wait_for(leaving, 2)
    assert loop.time() - started >= 2 * GRACE_S - 0.01
    assert await adapter.members(APP.app_id, PRESENCE) == {}


async def test_when_not_draining_a_presence_leave_goes_through_at_once() -> None:
    adapter, readiness = LocalAdapter(clock=FakeClock()), Readiness()
    actions = ChannelActions(
        adapter=adapter,
        clock=FakeClock(),
        webhooks=None,
        presence_leave_wait=presence_leave_grace(readiness, 60.0),
    )
    session, conn = await _joined(adapter)
    await asyncio.wait_for(actions.leave(APP, session, conn, PRESENCE), 1)
    assert await adapter.members(APP.app_id, PRESENCE) == {}
