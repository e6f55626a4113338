"""The thin I/O runner of the orchestrator for by-id fetches below live priority.

One per sport loop. It feeds the pure :class:`~poller.orchestrator.CallQueue` from two sources —
the on-demand board (:mod:`poller.ondemand`, data API misses) and the kick-off prefetches (each
known fixture at 2 h, 1 h and 30 min before it, its priority escalating as kick-off nears) —
and offers the loop at most one ``ids=`` call at a time, admitted by
:func:`~poller.orchestrator.admits`. Identical wants coalesce in the queue, and one call batches
the best priority's ids with lower ones that fit. The loop decides *whether* live work comes
first; this class never makes a call itself.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from poller.model import Match, StatusBucket
from poller.ondemand import OnDemandBoard
from poller.orchestrator import (
    PREFETCH_OFFSETS_S,
    CallQueue,
    Gate,
    Priority,
    admits,
    fixture_priority,
    prefetch_stage,
    take,
)

__all__ = ["Demand", "Picked", "kickoffs"]

logger = logging.getLogger("poller.demand")

#: A match fetched by id this recently answers a repeated ask from the store, not upstream.
RECENT_S = 120.0
#: Upstream trouble on a by-id call: wait this long before trying the queue again.
RETRY_S = 30.0
#: The gate said no: look again after this long (within a 202's ``Retry-After``).
REFUSED_RECHECK_S = 5.0


@dataclass(frozen=True, slots=True)
class Picked:
    priority: Priority
    ids: list[int]


def kickoffs(matches: Iterable[Match], now: float) -> dict[int, float]:
    """Known fixtures not yet started (what the prefetches are for): id → kick-off."""
    return {
        m.match_id: m.start_time
        for m in matches
        if m.status is StatusBucket.SCHEDULED and m.start_time > now
    }


class Demand:
    def __init__(
        self,
        *,
        sport: str,
        board: OnDemandBoard | None,
        prestart_window_s: float,
        fastest_live_s: float = 10.0,
        max_ids: int = 20,
        offsets: tuple[float, ...] = PREFETCH_OFFSETS_S,
        hourly_cap: int = 60,
        pull_every_s: float = 1.0,
    ) -> None:
        self.sport = sport
        self._board = board
        self._prestart_window_s = prestart_window_s
        self._fastest_live_s = fastest_live_s
        #: (virtual minute, calls left in it) as the upstream's headers last said.
        self._minute_left: tuple[int, int] | None = None
        self._max_ids = max_ids
        self._offsets = offsets
        self._hourly_cap = hourly_cap
        self._pull_every_s = pull_every_s
        self.queue = CallQueue()
        #: The prefetch stage each fixture was last fetched at.
        self.stage: dict[int, int] = {}
        self._recent: dict[int, float] = {}
        self._made: dict[tuple[int, Priority], int] = {}
        self._last_pull = -math.inf
        self._not_before = -math.inf
        self.picked: Picked | None = None
        self._down_posted: float | None = None

    def observe_quota(self, minute_remaining: int | None, now: float) -> None:
        if minute_remaining is not None:
            self._minute_left = (int(now // 60), minute_remaining)

    def _minute_spare(self, now: float) -> float:
        if self._minute_left is None or self._minute_left[0] != int(now // 60):
            return math.inf
        live_due = math.ceil((60 - now % 60) / self._fastest_live_s) + 1
        return self._minute_left[1] - live_due

    async def pull(self, now: float) -> None:
        """Move asked ids from the board into the queue (at most once per ``pull_every_s``)."""
        if self._board is None or now - self._last_pull < self._pull_every_s:
            return
        if len(self.queue) >= 5 * self._max_ids:
            return  # the board keeps them; the queue stays small
        self._last_pull = now
        try:
            ids = await self._board.take(self.sport, self._max_ids)
        except Exception as exc:  # the board going away must not stop the feed
            logger.warning("%s: on-demand board unreachable: %s", self.sport, exc)
            return
        for match_id in ids:
            if now - self._recent.get(match_id, -math.inf) >= RECENT_S:
                self.queue.want(match_id, Priority.ON_DEMAND, now)

    def observe(self, kickoffs: Mapping[int, float], now: float) -> None:
        """Queue the fixtures whose prefetch stage went up; hand those the live plan now owns
        (its pre-start window, kick-off) back to it: a by-id fetch never becomes live work
        that bypasses the quota gate, so live cadence and call counts stay the plan's."""
        owned: dict[int, Priority] = {}
        for match_id, kickoff in kickoffs.items():
            owned[match_id] = fixture_priority(
                kickoff, now, prestart_window_s=self._prestart_window_s, offsets=self._offsets
            )
            stage = prefetch_stage(kickoff, now, self._offsets)
            if stage > self.stage.get(match_id, 0) and owned[match_id] is not Priority.LIVE:
                self.queue.want(match_id, owned[match_id], now)
        for match_id, entry in list(self.queue.entries.items()):
            if entry.priority is Priority.ON_DEMAND:
                continue
            if owned.get(match_id, Priority.LIVE) is Priority.LIVE:
                del self.queue.entries[match_id]  # the live plan has it now
        for match_id in [i for i in self.stage if i not in kickoffs]:
            del self.stage[match_id]

    def next_at(self, kickoffs: Mapping[int, float], now: float) -> float:
        """When this runner may have a call to offer next (for the loop's sleep)."""
        if self.queue.entries:
            return max(now + self._pull_every_s, self._not_before)
        nxt = now + self._pull_every_s if self._board is not None else math.inf
        for match_id, kickoff in kickoffs.items():
            done = self.stage.get(match_id, 0)
            for offset in self._offsets[done:]:
                if kickoff - offset > now:
                    nxt = min(nxt, kickoff - offset)
                    break
        return nxt

    def due(self, now: float, gate: Callable[[int, int], Gate]) -> Picked | None:
        """The call to make now, if its priority is admitted. ``gate(made, cap)`` builds the
        :class:`~poller.orchestrator.Gate` from the loop's budget, bucket and breaker."""
        if now < self._not_before:
            return None
        picked = take(self.queue, limit=self._max_ids)
        if picked is None:
            return None
        priority, ids = picked
        made = self._made.get((int(now // 3600), priority), 0)
        room = replace(gate(made, self._hourly_cap), minute_spare=self._minute_spare(now))
        if not admits(priority, room):
            self._not_before = now + REFUSED_RECHECK_S  # the reasons rarely clear sooner
            return None
        self.picked = Picked(priority, ids)
        return self.picked

    async def fetched(
        self, found: Iterable[int], kickoffs: Mapping[int, float], now: float
    ) -> None:
        """The picked call answered: settle its ids (those it lacks are missing upstream)."""
        picked, self.picked = self.picked, None
        if picked is None:
            return
        hour = int(now // 3600)
        self._made = {k: v for k, v in self._made.items() if k[0] == hour}
        self._made[(hour, picked.priority)] = self._made.get((hour, picked.priority), 0) + 1
        found_ids = set(found)
        self.queue.done(picked.ids)
        for match_id in picked.ids:
            self._recent[match_id] = now
            if match_id in kickoffs:
                self.stage[match_id] = prefetch_stage(kickoffs[match_id], now, self._offsets)
        self._recent = {i: t for i, t in self._recent.items() if now - t < RECENT_S}
        missing = [i for i in picked.ids if i not in found_ids]
        if missing and self._board is not None:
            try:
                await self._board.settle(self.sport, missing=missing)
            except Exception as exc:
                logger.warning("%s: on-demand board unreachable: %s", self.sport, exc)

    def failed(self, now: float) -> None:
        """Upstream trouble: keep the wants, try again later (never the live backoff)."""
        self.picked = None
        self._not_before = now + RETRY_S

    async def post_health(self, down_since: float | None) -> None:
        """Tell the data API when the upstream went down or came back (for staleness)."""
        if self._board is None or down_since == self._down_posted:
            return
        try:
            await self._board.set_down(self.sport, down_since)
        except Exception as exc:
            logger.warning("%s: on-demand board unreachable: %s", self.sport, exc)
            return
        self._down_posted = down_since
