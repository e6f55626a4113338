"""Raw upstream items → :class:`poller.model.Match`, one pure module per sport."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from poller.model import Match
from poller.normalize import baseball, basketball, football
from poller.normalize.common import NormalizeError
from poller.normalize.status import classify_status

__all__ = ["NORMALIZERS", "NormalizeError", "normalize_item", "raw_is_live", "raw_match_id"]

NORMALIZERS: dict[str, Callable[[Mapping[str, Any]], Match]] = {
    "football": football.normalize_fixture,
    "basketball": basketball.normalize_game,
    "baseball": baseball.normalize_game,
}


def normalize_item(sport: str, raw: Any) -> Match:
    """Raises NormalizeError for an unknown sport or a malformed item."""
    normalizer = NORMALIZERS.get(sport)
    if normalizer is None:
        raise NormalizeError(f"no normaliser for sport {sport!r}", reason="unknown_sport")
    if not isinstance(raw, Mapping):
        raise NormalizeError("item is not an object", reason="not_an_object")
    return normalizer(raw)


def _status_short(sport: str, raw: Mapping[str, Any]) -> str | None:
    holder = raw.get("fixture") if sport == "football" else raw
    status = holder.get("status") if isinstance(holder, Mapping) else None
    short = status.get("short") if isinstance(status, Mapping) else None
    return short if isinstance(short, str) else None


def raw_match_id(sport: str, raw: Any) -> int | None:
    """The upstream id of a raw item without normalising it (None if it has none)."""
    if not isinstance(raw, Mapping):
        return None
    holder = raw.get("fixture") if sport == "football" else raw
    value = holder.get("id") if isinstance(holder, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def raw_is_live(sport: str, raw: Any) -> bool:
    if not isinstance(raw, Mapping):
        return False
    return classify_status(sport, _status_short(sport, raw)).bucket.is_in_play
