"""On-demand reads and staleness for ``/api/v1`` (issue 11 item 2): the data API's side.

A read for a match neither the live cache nor the store has never calls the upstream. It asks
the poller's orchestrator (through an :class:`OnDemand` board: in memory when the poller runs
inside pusherd, a Redis set shared with a separate poller process) and answers at once:

* ``202 Accepted`` with ``Retry-After`` while the fetch is queued (asking again is free:
  identical asks coalesce into one upstream call, and the queue is quota-guarded);
* ``404`` once the upstream answered without that match (remembered for ten minutes);
* ``503`` with ``Retry-After`` when the queue is at its bound.

When the poller says its upstream is down, the last known data is served as usual plus ``Age``
(RFC 9111 §5.1) and ``X-Data-Stale-Seconds``, both the seconds since the data was last known
right — for a match in play, since the outage began (every live poll until then confirmed it);
otherwise since its ``last_updated`` — on matches whose state can still change (a finished match
is not stale).
"""

from __future__ import annotations

from typing import Any, Protocol

from dataapi.errors import DataApiProblem, NotFound, Unavailable

__all__ = [
    "FETCH_RETRY_AFTER_S",
    "STALE_HEADER",
    "OnDemand",
    "Queued",
    "miss",
    "stale_headers",
    "stale_seconds",
]

#: What a 202 tells the client to wait: one pull of the queue plus one upstream round trip.
FETCH_RETRY_AFTER_S = 5
STALE_HEADER = "X-Data-Stale-Seconds"
#: Statuses whose data no later poll changes.
SETTLED = frozenset({"finished", "cancelled", "abandoned"})
IN_PLAY = frozenset({"live", "break", "suspended"})


class _Answer(Protocol):
    @property
    def value(self) -> str: ...


class OnDemand(Protocol):
    """The poller's on-demand board (``poller.ondemand``), composed in ``pusherd.data_api``."""

    async def ask(self, sport: str, match_id: int) -> _Answer: ...

    async def down_since(self, sport: str) -> float | None: ...


class Queued(DataApiProblem):
    """202: not an error, but rendered through the same path (a problem-shaped status body)."""

    status = 202
    slug = "fetch-queued"
    title = "Fetch queued"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, retry_after=retry_after_s)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class QueueFull(Unavailable):
    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


async def miss(board: OnDemand | None, sport: str, match_id: int) -> DataApiProblem:
    """The answer to a read of a match neither the cache nor the store has."""
    if board is None:
        return NotFound(f"no match {match_id} in {sport} (not fetched, or past retention)")
    try:
        answer = (await board.ask(sport, match_id)).value
    except Exception as exc:
        return Unavailable(f"the on-demand queue cannot be reached: {type(exc).__name__}")
    if answer == "missing":
        return NotFound(f"the upstream has no match {match_id} in {sport}")
    if answer == "full":
        return QueueFull("too many fetches queued; try again", retry_after_s=30)
    return Queued(
        f"match {match_id} is being fetched from the upstream; retry in {FETCH_RETRY_AFTER_S}s",
        retry_after_s=FETCH_RETRY_AFTER_S,
    )


async def stale_seconds(
    board: OnDemand | None, sport: str, state: dict[str, Any], now: float, updated_s: float
) -> int | None:
    """Seconds the data is behind when the upstream is down (None: fresh as far as we know)."""
    if board is None or state.get("status") in SETTLED:
        return None
    try:
        down = await board.down_since(sport)
    except Exception:
        return None  # staleness is advisory; the body is still the best we have
    if down is None:
        return None
    # Live polls confirmed an in-play match until the outage began (the store's stamp is its
    # last *change*); anything else is as old as its last update.
    basis = max(updated_s, down) if state.get("status") in IN_PLAY else updated_s
    return max(0, int(now - basis))


def stale_headers(stale_s: int) -> dict[str, str]:
    return {"Age": str(stale_s), STALE_HEADER: str(stale_s)}
