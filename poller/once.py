"""Log-once memory for faults that come from upstream data, bounded like everything a stranger
can grow (issue 10, item 8: a repeated bad item is logged once, not once per poll)."""

from __future__ import annotations

__all__ = ["LOGGED_ONCE_MAX", "Once"]

#: How many keys (item id and reason, unknown status code) are remembered as already logged.
LOGGED_ONCE_MAX = 4096


class Once:
    """Remembers the last ``size`` keys seen; the oldest is forgotten first, so at worst a key
    pushed out by ``size`` newer ones is logged once more."""

    __slots__ = ("_seen", "_size")

    def __init__(self, size: int = LOGGED_ONCE_MAX) -> None:
        self._seen: dict[object, None] = {}
        self._size = size

    def first(self, key: object) -> bool:
        """True the first time ``key`` is seen (while it is remembered)."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            del self._seen[next(iter(self._seen))]
        return True
