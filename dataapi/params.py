"""Query and path parameters → values, or a 422 that names the parameter.

Cursors are opaque to clients (base64url of a small JSON array) but carry the list they belong
to, so a cursor from one list used on another is refused instead of silently misread.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson

from dataapi.errors import BadParameter

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "STATUSES",
    "day_start_s",
    "decode_cursor",
    "encode_cursor",
    "parse_date",
    "parse_int_id",
    "parse_limit",
    "parse_statuses",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_CHARS = 200
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: The status buckets of the event schema.
STATUSES = frozenset(
    {"scheduled", "live", "break", "finished", "postponed", "cancelled", "suspended", "unknown"}
)


def _is_decimal(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²" and "١", which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def parse_limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not _is_decimal(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter("limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def encode_cursor(kind: str, position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([kind, *position])).decode().rstrip("=")


def decode_cursor(query: Mapping[str, str], kind: str, types: tuple[type, ...]) -> list[Any] | None:
    """The position stored in ``cursor``, checked against the list ``kind`` and its types."""
    raw = query.get("cursor")
    if raw is None:
        return None
    try:
        if len(raw) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        value = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise BadParameter("cursor", "cursor is not a cursor this API issued") from None
    if (
        not isinstance(value, list)
        or len(value) != len(types) + 1
        or value[0] != kind
        or not all(type(v) is t for v, t in zip(value[1:], types, strict=True))
    ):
        raise BadParameter("cursor", "cursor belongs to another list or is damaged")
    return value[1:]


def parse_date(query: Mapping[str, str], name: str, default: date) -> date:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        if not _DATE.fullmatch(raw):  # fromisoformat also takes week dates like 2026-W40-1
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, f"{name} must be a date as YYYY-MM-DD") from None


def day_start_s(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def parse_statuses(query: Mapping[str, str]) -> frozenset[str]:
    raw = query.get("status")
    if raw is None:
        return frozenset()
    values = frozenset(part.strip() for part in raw.split(","))
    unknown = sorted(values - STATUSES)
    if not values or unknown:
        raise BadParameter(
            "status", f"status must be a comma-separated list of {', '.join(sorted(STATUSES))}"
        )
    return values


def parse_int_id(value: str, name: str) -> int:
    if not _is_decimal(value) or len(value) > 15:
        raise BadParameter(name, f"{name} must be a positive integer id")
    return int(value)
