"""Scripted match timelines: what happens in each simulated match and when.

A :class:`ScriptedMatch` is data: teams, kick-off and a tuple of :class:`Action` at offsets (in
seconds) from kick-off. Football actions follow upstream reference §8.2 (``kickoff``, ``goal``,
``card``, ``subst``, ``var_disallow``, ``half_time``, ``second_half``, ``full_time``,
``extra_time``, ``et_break``, ``et_second``, ``penalties``, ``shootout_kick``, ``end``,
``postpone``, ``backfill_name``); basketball and baseball use ``score`` and ``period`` actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Action", "League", "Player", "ScriptedMatch", "Side"]


@dataclass(frozen=True, slots=True)
class League:
    id: int
    name: str
    country: str = "Arcadia"
    season: int | str = 2026
    kind: str = "League"


@dataclass(frozen=True, slots=True)
class Side:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Player:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Action:
    """One scripted happening.

    ``ref`` names the ``tag`` of an earlier action (the goal a VAR check disallows, the event
    whose name is backfilled or that is filed twice); ``value`` carries points or runs, or the
    status code for ``period``/``end``.
    """

    at_s: float
    kind: str
    side: str | None = None
    player: Player | None = None
    assist: Player | None = None
    detail: str | None = None
    comments: str | None = None
    ref: str | None = None
    value: int | str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class ScriptedMatch:
    sport: str
    match_id: int
    league: League
    home: Side
    away: Side
    kickoff: float
    actions: tuple[Action, ...] = field(default_factory=tuple)
    venue: str | None = None
    referee: str | None = None

    def tagged(self, tag: str) -> Action | None:
        return next((a for a in self.actions if a.tag == tag), None)

    def actions_until(self, now: float) -> tuple[Action, ...]:
        """The actions that have happened by ``now`` (virtual Unix seconds)."""
        offset = now - self.kickoff
        return tuple(a for a in self.actions if a.at_s <= offset)
