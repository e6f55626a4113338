"""Defensive readers for raw upstream JSON, shared by the per-sport normalisers.

Upstream values are nullable and sometimes typed loosely (``season`` as str or int, ``venue.id``
null or 0): these readers never coerce ``null`` to ``0`` and report a missing required field as
:class:`NormalizeError`, which the caller counts and skips rather than crashing the poll.

Numbers in strings are ASCII digits only (``"²".isdigit()`` and ``"٣".isdigit()`` are true, and
``int("²")`` raises), at most 18 of them; a kick-off time must be a date ``datetime`` can hold, or
every payload and day list built from it would raise on every poll (issue 10, item 8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from poller.model import Team

__all__ = [
    "NormalizeError",
    "as_int",
    "as_str",
    "as_unix_s",
    "game_fields",
    "obj",
    "required_int",
    "team",
]


#: Optional sign, then 1 to 18 ASCII digits (fits an int64); surrounding ASCII blanks allowed.
_ASCII_INT = re.compile(r"[ \t]*-?[0-9]{1,18}[ \t]*")
#: 9999-12-31T23:59:59Z, the last second ``datetime`` can format.
MAX_UNIX_S = 253_402_300_799


class NormalizeError(ValueError):
    """An upstream item the Match model cannot be built from.

    ``reason`` is a short fixed word (a metric label, so never upstream text): ``not_an_object``,
    ``missing_field``, ``timestamp`` or ``unknown_sport``.
    """

    def __init__(self, message: str, *, reason: str = "missing_field") -> None:
        super().__init__(message)
        self.reason = reason


def obj(value: Any, key: str) -> Mapping[str, Any]:
    """``value[key]`` as a mapping; ``{}`` when absent or not an object."""
    if isinstance(value, Mapping):
        inner = value.get(key)
        if isinstance(inner, Mapping):
            return inner
    return {}


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _ASCII_INT.fullmatch(value):
        return int(value)
    return None


def as_unix_s(value: Any, what: str) -> int | None:
    """A Unix time in seconds, None when absent.

    Raises:
        NormalizeError: present but negative or past year 9999 (``10**13`` is a time in ms or
            garbage; either way no payload could carry it).
    """
    number = as_int(value)
    if number is not None and not 0 <= number <= MAX_UNIX_S:
        raise NormalizeError(f"{what} out of range", reason="timestamp")
    return number


def as_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def required_int(value: Any, what: str) -> int:
    number = as_int(value)
    if number is None:
        raise NormalizeError(f"{what} is missing or not an integer")
    return number


def team(teams: Mapping[str, Any], side: str, score: int | None) -> Team:
    raw = obj(teams, side)
    return Team(
        id=required_int(raw.get("id"), f"teams.{side}.id"),
        name=as_str(raw.get("name")) or "",
        score=score,
    )


def game_fields(raw: Mapping[str, Any], sport: str, short: str) -> dict[str, Any]:
    """The Match fields every ``/games`` sport reads alike (basketball, baseball): ids, league,
    season, teams with their total scores and kick-off; clock and period stay per sport.

    Raises:
        NormalizeError: the item lacks a game id, a league id or team ids.
    """
    league = obj(raw, "league")
    scores = obj(raw, "scores")
    teams = raw.get("teams")
    if not isinstance(teams, Mapping):
        raise NormalizeError("teams missing")
    return {
        "match_id": required_int(raw.get("id"), "id"),
        "sport": sport,
        "league_id": required_int(league.get("id"), "league.id"),
        "league_name": as_str(league.get("name")) or "",
        "season": as_str(league.get("season")) or "",
        "status_short": short,
        "home": team(teams, "home", as_int(obj(scores, "home").get("total"))),
        "away": team(teams, "away", as_int(obj(scores, "away").get("total"))),
        "start_time": as_unix_s(raw.get("timestamp"), "timestamp") or 0,
    }
