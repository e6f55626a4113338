"""The simulated world: scripted matches seen through the upstream's 15-second publish cycle.

Internal truth changes at action time, but answers are computed at the start of the current
publish cycle (upstream reference §8.2), so two calls in the same cycle return identical bodies
and a poller faster than the cycle sees no news.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from poller.clock import Clock
from poller.simulator.football import fixture_json
from poller.simulator.games import game_json
from poller.simulator.reference import leagues_json, standings_json, teams_json
from poller.simulator.scenario import ScriptedMatch

__all__ = ["IN_PLAY", "World"]

IN_PLAY = frozenset({"1H", "HT", "2H", "ET", "BT", "P", "SUSP", "INT", "LIVE"})


def _day(unix_s: float) -> str:
    return datetime.fromtimestamp(int(unix_s), UTC).strftime("%Y-%m-%d")


def _deep_merge(item: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``item`` with ``patch`` laid over it, objects merged key by key (a copy: items are cached
    per publish cycle)."""
    merged = dict(item)
    for key, value in patch.items():
        inner = merged.get(key)
        if isinstance(value, dict) and isinstance(inner, dict):
            merged[key] = _deep_merge(inner, value)
        else:
            merged[key] = value
    return merged


class World:
    def __init__(
        self, matches: Iterable[ScriptedMatch], *, clock: Clock, publish_cycle_s: float = 15.0
    ) -> None:
        self.matches: dict[tuple[str, int], ScriptedMatch] = {
            (m.sport, m.match_id): m for m in matches
        }
        self.clock = clock
        self.publish_cycle_s = publish_cycle_s
        #: While set, the feed is frozen at this virtual time (stale-data fault, §8.5).
        self.frozen_at: float | None = None
        #: When set, event arrays come in a different (seeded) order in every publish cycle.
        self.shuffle_seed: int | None = None
        #: Malformed-item faults (§8.5): a patch deep-merged into one match's JSON item...
        self.patches: dict[tuple[str, int], dict[str, Any]] = {}
        #: ...and raw items listed after a sport's healthy ones in every match list answer.
        self.extra_items: dict[str, list[Any]] = {}

    def published_at(self) -> float:
        if self.frozen_at is not None:
            return self.frozen_at
        now = self.clock.time()
        if self.publish_cycle_s <= 0:
            return now
        return math.floor(now / self.publish_cycle_s) * self.publish_cycle_s

    def of_sport(self, sport: str) -> list[ScriptedMatch]:
        return [m for (s, _), m in self.matches.items() if s == sport]

    def add(self, match: ScriptedMatch) -> None:
        self.matches[(match.sport, match.match_id)] = match

    def fixtures(
        self,
        *,
        live: str | None = None,
        ids: Sequence[int] | None = None,
        date: str | None = None,
        league: int | None = None,
        statuses: set[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Football ``/fixtures`` items for one query, in kick-off order."""
        at = self.published_at()
        wanted_leagues: set[int] | None = None
        if live is not None and live != "all":
            wanted_leagues = {int(x) for x in live.split("-") if x.isdigit()}
        out = []
        for match in sorted(self.of_sport("football"), key=lambda m: (m.kickoff, m.match_id)):
            if ids is not None and match.match_id not in ids:
                continue
            if date is not None and _day(match.kickoff) != date:
                continue
            if league is not None and match.league.id != league:
                continue
            shuffle = None
            if self.shuffle_seed is not None:
                shuffle = random.Random(hash((self.shuffle_seed, at, match.match_id)))
            item = fixture_json(
                match, at, events=live is not None, with_details=ids is not None, shuffle=shuffle
            )
            short = item["fixture"]["status"]["short"]
            if live is not None:
                if short not in IN_PLAY:
                    continue
                if wanted_leagues is not None and match.league.id not in wanted_leagues:
                    continue
            if statuses is not None and short not in statuses:
                continue
            out.append(self._patched("football", match.match_id, item))
        if live is not None or date is not None:
            out.extend(self.extra_items.get("football", ()))
        return out

    def _patched(self, sport: str, match_id: int, item: dict[str, Any]) -> dict[str, Any]:
        patch = self.patches.get((sport, match_id))
        return item if patch is None else _deep_merge(item, patch)

    def games(
        self,
        sport: str,
        *,
        game_id: int | None = None,
        date: str | None = None,
        league: int | None = None,
    ) -> list[dict[str, Any]]:
        """Basketball or baseball ``/games`` items for one query."""
        at = self.published_at()
        out = []
        for match in sorted(self.of_sport(sport), key=lambda m: (m.kickoff, m.match_id)):
            if game_id is not None and match.match_id != game_id:
                continue
            if date is not None and _day(match.kickoff) != date:
                continue
            if league is not None and match.league.id != league:
                continue
            out.append(self._patched(sport, match.match_id, game_json(match, at)))
        if game_id is None:
            out.extend(self.extra_items.get(sport, ()))
        return out

    def leagues(self, sport: str, *, league_id: int | None = None) -> list[dict[str, Any]]:
        seen = {m.league.id: m.league for m in self.of_sport(sport)}
        if league_id is not None:
            seen = {k: v for k, v in seen.items() if k == league_id}
        return leagues_json(sport, seen)

    def teams(
        self, sport: str, *, league: int | None = None, season: str | None = None
    ) -> list[dict[str, Any]]:
        matches = [
            m
            for m in self.of_sport(sport)
            if (league is None or m.league.id == league)
            and (season is None or str(m.league.season) == season)
        ]
        return teams_json(sport, matches)

    def standings(self, league: int, season: str) -> list[dict[str, Any]]:
        """Football ``/standings`` for one league and season (empty when unknown)."""
        matches = [
            m
            for m in self.of_sport("football")
            if m.league.id == league and str(m.league.season) == season
        ]
        if not matches:
            return []
        return standings_json(matches[0].league, self.fixtures(league=league), self.published_at())
