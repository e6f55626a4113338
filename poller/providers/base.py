"""The provider seam and its error tree.

::

    UpstreamError                  a call that produced no usable data
    ├── QuotaExhausted             daily cap reached (200 + errors.requests, RapidAPI DAILY 429):
    │                              do not retry before the reset
    ├── RateLimited                per-minute limit (200 + errors.rateLimit, HTTP 429)
    ├── AuthRejected               bad/missing key, suspended account (errors.token/access, 401/403)
    ├── PlanRestricted             the plan does not include this query (errors.plan)
    ├── BadRequest                 our query is wrong (errors.required/season/<param>, 404)
    └── Unavailable                5xx, 499, timeouts, HTML, broken JSON, errors.bug

Every error carries the quota headers of the response when there were any: error responses
still tell us how much quota is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "AuthRejected",
    "BadRequest",
    "Fetch",
    "PlanRestricted",
    "Provider",
    "Quota",
    "QuotaExhausted",
    "RateLimited",
    "Unavailable",
    "UpstreamError",
]


@dataclass(frozen=True, slots=True)
class Quota:
    """The four rate-limit headers (§6.2); any may be missing on an error response."""

    daily_limit: int | None = None
    daily_remaining: int | None = None
    minute_limit: int | None = None
    minute_remaining: int | None = None


@dataclass(frozen=True, slots=True)
class Fetch:
    items: list[Any]
    quota: Quota
    #: Unix seconds when the response arrived (the poller's clock): publish latency starts here.
    received_at: float


class UpstreamError(Exception):
    def __init__(self, message: str, *, quota: Quota | None = None) -> None:
        super().__init__(message)
        self.quota = quota or Quota()


class QuotaExhausted(UpstreamError):
    pass


class RateLimited(UpstreamError):
    pass


class AuthRejected(UpstreamError):
    pass


class PlanRestricted(UpstreamError):
    pass


class BadRequest(UpstreamError):
    pass


class Unavailable(UpstreamError):
    pass


class Provider(Protocol):
    async def live(self, sport: str, *, day: str) -> Fetch:
        """Every in-play match of ``sport`` in one call (football ``live=all``; the other
        sports have no documented ``live`` parameter, so their day's ``date=`` list)."""
        ...

    async def by_ids(self, sport: str, ids: Sequence[int]) -> Fetch:
        """Full detail of up to the upstream's batch limit of matches, in one call."""
        ...

    async def by_date(self, sport: str, day: str) -> Fetch:
        """The day's matches (fixtures about to start, postponements)."""
        ...

    async def leagues(self, sport: str) -> Fetch:
        """Every league the host covers, with seasons and coverage flags (one call)."""
        ...

    async def teams(self, sport: str, league: int, season: str) -> Fetch:
        """The teams of one league season (one call)."""
        ...

    async def standings(self, sport: str, league: int, season: str) -> Fetch:
        """One league season's table; raises BadRequest where the host has no ``/standings``."""
        ...
