"""API-Baseball v1 game → Match (upstream reference §7.2).

Innings-based scores (``scores.{side}.total``, hits, errors, per-inning runs); no clock and no
event feed. Top or bottom of the inning is inferred from which side's cell is filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poller.model import Match
from poller.normalize.common import NormalizeError, as_int, as_str, obj, required_int, team
from poller.normalize.status import classify_status

__all__ = ["half_inning", "normalize_game"]

SPORT = "baseball"


def half_inning(scores: Mapping[str, Any], inning: int) -> str | None:
    """``"top"`` while only the away side has a cell for ``inning``, ``"bottom"`` once home has."""
    away = obj(obj(scores, "away"), "innings").get(str(inning))
    home = obj(obj(scores, "home"), "innings").get(str(inning))
    if home is not None:
        return "bottom"
    if away is not None:
        return "top"
    return None


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
    inning = as_int(short[2:]) if short.startswith("IN") else None
    period = info.period
    side = half_inning(scores, inning) if inning is not None else None
    if period is not None and side is not None:
        period = f"{side.capitalize()} of {period}"
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
        period=period,
        clock=None,
        elapsed=inning,
        start_time=as_int(raw.get("timestamp")) or 0,
        details={"status_short": short, "scores": dict(scores)},
    )
