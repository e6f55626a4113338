"""API-Baseball v1 game → Match (upstream reference §7.2).

Innings-based scores (``scores.{side}.total``, hits, errors, per-inning runs); no clock and no
event feed. Top or bottom of the inning is inferred from which side's cell is filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poller.model import Match
from poller.normalize.common import as_int, as_str, game_fields, obj
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
    scores = obj(raw, "scores")
    short = as_str(status.get("short")) or ""
    info = classify_status(SPORT, short)
    inning = as_int(short[2:]) if short.startswith("IN") else None
    period = info.period
    side = half_inning(scores, inning) if inning is not None else None
    if period is not None and side is not None:
        period = f"{side.capitalize()} of {period}"
    return Match(
        **game_fields(raw, SPORT, short),
        status=info.bucket,
        period=period,
        clock=None,
        elapsed=inning,
        details={"status_short": short, "scores": dict(scores)},
    )
