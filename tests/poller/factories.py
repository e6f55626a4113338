"""Small builders of Match values for the sans-I/O tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from poller.model import Match, MatchEvent, StatusBucket, Team
from poller.normalize.football import normalize_event, normalize_fixture
from poller.normalize.status import classify_status


def football(
    *,
    short: str = "1H",
    score: tuple[int | None, int | None] = (0, 0),
    elapsed: int | None = 10,
    events: tuple[MatchEvent, ...] = (),
    match_id: int = 7,
    league_id: int = 39,
) -> Match:
    info = classify_status("football", short)
    return Match(
        match_id=match_id,
        sport="football",
        league_id=league_id,
        league_name="Premier League",
        season="2026",
        status=info.bucket,
        status_short=short,
        home=Team(101, "Team A", score[0]),
        away=Team(102, "Team B", score[1]),
        period=info.period,
        clock=f"{elapsed}:00" if elapsed is not None and info.bucket.is_in_play else None,
        elapsed=elapsed,
        start_time=1_791_036_000,
        events=events,
    )


def event(
    kind: str = "Goal",
    detail: str = "Normal Goal",
    *,
    team: int = 101,
    player: int | None = 5,
    name: str | None = "P. Layer",
    elapsed: int = 10,
    extra: int | None = None,
    assist: str | None = None,
    comments: str | None = None,
) -> MatchEvent:
    raw: dict[str, Any] = {
        "time": {"elapsed": elapsed, "extra": extra},
        "team": {"id": team, "name": "T", "logo": ""},
        "player": {"id": player, "name": name},
        "assist": {"id": None, "name": assist},
        "type": kind,
        "detail": detail,
        "comments": comments,
    }
    return normalize_event(raw)


def from_raw(item: Any) -> Match:
    return normalize_fixture(item)


def with_status(match: Match, short: str) -> Match:
    info = classify_status(match.sport, short)
    return replace(match, status=info.bucket, status_short=short, period=info.period)


__all__ = ["StatusBucket", "event", "football", "from_raw", "with_status"]
