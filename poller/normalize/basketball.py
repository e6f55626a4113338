"""API-Basketball v1 game → Match (upstream reference §7.1).

Flat items, ``scores.{side}.total`` as the score, ``status.timer`` as minutes into the period,
and ``league.season`` as either a string or an int. There is no event feed: period changes are
the only events, and detection derives them from the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poller.model import Match
from poller.normalize.common import NormalizeError, as_int, as_str, obj, required_int, team
from poller.normalize.status import classify_status

__all__ = ["normalize_game"]

SPORT = "basketball"


def normalize_game(raw: Mapping[str, Any]) -> Match:
    """A ``/games`` item as a Match.

    Raises:
        NormalizeError: the item lacks a game id, a league id or team ids.
    """
    status = obj(raw, "status")
    league = obj(raw, "league")
    scores = obj(raw, "scores")
    short = as_str(status.get("short")) or ""
    info = classify_status(SPORT, short)
    timer = as_int(status.get("timer"))
    if not isinstance(raw.get("teams"), Mapping):
        raise NormalizeError("teams missing")
    return Match(
        match_id=required_int(raw.get("id"), "id"),
        sport=SPORT,
        league_id=required_int(league.get("id"), "league.id"),
        league_name=as_str(league.get("name")) or "",
        season=as_str(league.get("season")) or "",
        status=info.bucket,
        status_short=short,
        home=team(raw["teams"], "home", as_int(obj(scores, "home").get("total"))),
        away=team(raw["teams"], "away", as_int(obj(scores, "away").get("total"))),
        period=info.period,
        clock=f"{timer}:00" if timer is not None and info.bucket.is_in_play else None,
        elapsed=timer,
        start_time=as_int(raw.get("timestamp")) or 0,
        details={"status_short": short, "timer": timer, "scores": dict(scores)},
    )
