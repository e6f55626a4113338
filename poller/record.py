"""A tap that hands what the poller published to a durable record (the data API's SQL store).

The poller already has the two moments that matter: it *publishes* a batch (the compact
``match.event`` payloads carry the stable ``event_id``, the scores and the timestamp every
subscriber got, synthetic period and correction events included), and right after that it
*saves* the new match states (the full :class:`~poller.model.Match`: kick-off time, league,
teams). :class:`RecordingTap` wraps the :class:`~poller.publish.Publisher` and the
:class:`~poller.snapshots.SnapshotStore` to see both, so the loop in :mod:`poller.poll` does not
change. The recorder is synchronous SQL; it runs in a worker thread. A failing recorder never
stops the feed: it is logged, and the events are kept for the next save.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from poller.catalogue import LeagueCatalogue
from poller.clock import Clock
from poller.detect import MatchState
from poller.model import Match
from poller.publish import Publisher
from poller.routing import MATCH_EVENT, Outbound
from poller.snapshots import SnapshotStore

__all__ = ["MatchRecorder", "RecordBatch", "RecordingTap"]

logger = logging.getLogger("poller.record")


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """One saved poll of one sport: the matches as now known, and the events just published."""

    sport: str
    matches: tuple[Match, ...]
    #: ``(sport, league_id) → slug`` for the leagues of ``matches`` (event schema ``{league}``).
    league_slugs: dict[int, str]
    #: The compact ``match.event`` payloads exactly as subscribers got them.
    events: tuple[dict[str, Any], ...]
    recorded_at: float


class MatchRecorder(Protocol):
    """Where batches go (``dataapi.store.SqlMatchStore``); called from a worker thread."""

    def record(self, batch: RecordBatch) -> None: ...

    def prune(self, *, before_s: float) -> int:
        """Forget matches that kicked off before ``before_s``; returns how many."""
        ...


def _sport_of_match_channel(channel: str) -> str | None:
    """``sports.{sport}.leagues.{league}.matches.{match}`` → sport; other channels → None."""
    parts = channel.split(".")
    if len(parts) == 6 and parts[0] == "sports" and parts[2] == "leagues":
        return parts[1] if parts[4] == "matches" else None
    return None


class RecordingTap:
    def __init__(
        self,
        *,
        recorder: MatchRecorder,
        catalogue: LeagueCatalogue,
        clock: Clock,
        retention_s: float,
        prune_every_s: float = 3600.0,
    ) -> None:
        self._recorder = recorder
        self._catalogue = catalogue
        self._clock = clock
        self._retention_s = retention_s
        self._prune_every_s = prune_every_s
        self._last_prune_at = float("-inf")
        self._events: dict[str, list[dict[str, Any]]] = {}

    def publisher(self, inner: Publisher) -> Publisher:
        return _TappedPublisher(inner, self)

    def snapshots(self, inner: SnapshotStore) -> SnapshotStore:
        return _TappedSnapshots(inner, self)

    def published(self, messages: Sequence[Outbound]) -> None:
        for message in messages:
            if message.event != MATCH_EVENT:
                continue
            sport = _sport_of_match_channel(message.channel)
            if sport is not None:
                self._events.setdefault(sport, []).append(orjson.loads(message.data))

    async def saved(self, sport: str, states: Sequence[MatchState]) -> None:
        events = self._events.get(sport, [])
        if not states and not events:
            return
        now = self._clock.time()
        matches = tuple(state.match for state in states)
        batch = RecordBatch(
            sport=sport,
            matches=matches,
            league_slugs={m.league_id: self._catalogue.slug(sport, m.league_id) for m in matches},
            events=tuple(events),
            recorded_at=now,
        )
        try:
            await asyncio.to_thread(self._recorder.record, batch)
        except Exception as exc:  # the record lagging must not stop the live feed
            logger.warning("%s: match store write failed, kept for the next save: %s", sport, exc)
            return
        self._events.pop(sport, None)
        if now - self._last_prune_at >= self._prune_every_s:
            self._last_prune_at = now
            try:
                removed = await asyncio.to_thread(
                    self._recorder.prune, before_s=now - self._retention_s
                )
            except Exception as exc:
                logger.warning("match store prune failed: %s", exc)
            else:
                if removed:
                    logger.info("match store: pruned %d match(es) past retention", removed)


class _TappedPublisher:
    def __init__(self, inner: Publisher, tap: RecordingTap) -> None:
        self._inner = inner
        self._tap = tap

    async def publish(self, messages: Sequence[Outbound]) -> None:
        await self._inner.publish(messages)
        self._tap.published(messages)  # only what pusherd accepted


class _TappedSnapshots:
    def __init__(self, inner: SnapshotStore, tap: RecordingTap) -> None:
        self._inner = inner
        self._tap = tap

    async def load(self, sport: str) -> dict[int, MatchState]:
        return await self._inner.load(sport)

    async def save(self, sport: str, states: Sequence[MatchState]) -> None:
        try:
            await self._inner.save(sport, states)
        finally:
            await self._tap.saved(sport, states)

    async def drop(self, sport: str, match_ids: Iterable[int]) -> None:
        await self._inner.drop(sport, match_ids)
