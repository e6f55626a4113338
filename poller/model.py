"""The one Match model every sport is normalised into (upstream reference §7.5).

Values are frozen and slotted: a Match is a snapshot of what the upstream said at one poll, and
detection compares two snapshots. Raw upstream extras that only the rich (private/presence) tier
carries are kept as plain JSON values in ``details``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EventType", "Match", "MatchEvent", "StatusBucket", "Team"]


class StatusBucket(enum.Enum):
    """The status buckets of the event schema, shared by every sport."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    BREAK = "break"
    FINISHED = "finished"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"

    @property
    def is_in_play(self) -> bool:
        """Live, in a break or suspended: the match can still change within minutes."""
        return self in (StatusBucket.LIVE, StatusBucket.BREAK, StatusBucket.SUSPENDED)


class EventType(enum.Enum):
    """``event_type`` values of ``match.event``."""

    GOAL = "goal"
    MISSED_PENALTY = "missed_penalty"
    CARD = "card"
    SUBSTITUTION = "substitution"
    VAR = "var"
    PERIOD = "period"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    name: str
    score: int | None


@dataclass(frozen=True, slots=True)
class MatchEvent:
    """One upstream event row, with the identity detection derives for it.

    ``key`` is the content identity (type, team, minute, player, detail); ``event_id`` is filled in
    by detection, which may keep an older id when a row is rewritten (backfilled names, minutes).
    """

    key: str
    event_type: EventType
    team_id: int | None
    player_id: int | None
    player_name: str | None
    assist_name: str | None
    elapsed: int | None
    extra: int | None
    detail: str
    comments: str | None
    event_id: int = 0

    @property
    def time(self) -> str | None:
        """``"MM:00"``: the upstream has minutes only; stoppage time is added (45+2 → 47:00)."""
        if self.elapsed is None:
            return None
        if self.comments == "Penalty Shootout":  # extra is the kick number, not minutes
            return f"{self.elapsed}:00"
        return f"{self.elapsed + (self.extra or 0)}:00"

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.elapsed or 0, self.extra or 0, self.key)


@dataclass(frozen=True, slots=True)
class Match:
    """A match as last seen upstream, normalised."""

    match_id: int
    sport: str
    league_id: int
    league_name: str
    season: str
    status: StatusBucket
    status_short: str
    home: Team
    away: Team
    period: str | None
    clock: str | None
    elapsed: int | None
    start_time: int
    events: tuple[MatchEvent, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def score(self) -> tuple[int | None, int | None]:
        return (self.home.score, self.away.score)

    @property
    def team_ids(self) -> tuple[int, int]:
        return (self.home.id, self.away.id)
