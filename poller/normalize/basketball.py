"""API-Basketball v1 game → Match (upstream reference §7.1).

Flat items, ``scores.{side}.total`` as the score, ``status.timer`` as minutes into the period,
and ``league.season`` as either a string or an int. There is no event feed: period changes are
the only events, and detection derives them from the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poller.model import Match
from poller.normalize.common import as_int, as_str, game_fields, obj
from poller.normalize.status import classify_status

__all__ = ["normalize_game"]

SPORT = "basketball"


def normalize_game(raw: Mapping[str, Any]) -> Match:
    """A ``/games`` item as a Match.

    Raises:
        NormalizeError: the item lacks a game id, a league id or team ids.
    """
    status = obj(raw, "status")
    scores = obj(raw, "scores")
    short = as_str(status.get("short")) or ""
    info = classify_status(SPORT, short)
    timer = as_int(status.get("timer"))
    return Match(
        **game_fields(raw, SPORT, short),
        status=info.bucket,
        period=info.period,
        clock=f"{timer}:00" if timer is not None and info.bucket.is_in_play else None,
        elapsed=timer,
        details={"status_short": short, "timer": timer, "scores": dict(scores)},
    )
