"""API-Sports over httpx: football v3, basketball v1, baseball v1, direct or through RapidAPI.

Every response is checked for ``errors`` (an HTTP 200 with a non-empty ``errors`` object is a
failure, upstream reference rule 1), quota headers are read on every response including errors,
failures are translated into the :mod:`poller.providers.base` tree where they enter, and
identical requests already in flight are coalesced into one upstream call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import orjson

from poller.clock import Clock
from poller.config import HostConfig, Secret
from poller.metrics import PollerMetrics
from poller.providers.base import (
    AuthRejected,
    BadRequest,
    Fetch,
    PlanRestricted,
    Quota,
    QuotaExhausted,
    RateLimited,
    Unavailable,
    UpstreamError,
)

__all__ = ["HAS_STANDINGS", "ApiSportsProvider", "classify_errors", "parse_quota"]

logger = logging.getLogger("poller.providers.apisports")

#: Hosts whose ``/standings`` the upstream reference documents (football §3.5; basketball and
#: baseball list only ``/games``, ``/leagues`` and ``/teams``, §8.3).
HAS_STANDINGS = frozenset({"football"})

_ERROR_KINDS: dict[str, type[UpstreamError]] = {
    "token": AuthRejected,
    "access": AuthRejected,
    "subscription": AuthRejected,
    "requests": QuotaExhausted,
    "rateLimit": RateLimited,
    "plan": PlanRestricted,
    "bug": Unavailable,
}


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


def parse_quota(headers: httpx.Headers) -> Quota:
    """Both header pairs, never confusing the daily ``requests`` pair with the minute pair."""
    return Quota(
        daily_limit=_header_int(headers, "x-ratelimit-requests-limit"),
        daily_remaining=_header_int(headers, "x-ratelimit-requests-remaining"),
        minute_limit=_header_int(headers, "x-ratelimit-limit"),
        minute_remaining=_header_int(headers, "x-ratelimit-remaining"),
    )


def classify_errors(errors: Mapping[str, Any]) -> type[UpstreamError]:
    for field, kind in _ERROR_KINDS.items():
        if field in errors:
            return kind
    return BadRequest  # required/season/<param>/endpoint: our query is wrong


def _message(body: Any) -> str:
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return str(body["message"])
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            return "; ".join(f"{k}: {v}" for k, v in errors.items())
    return ""


class ApiSportsProvider:
    """The Provider for API-Sports hosts (see :class:`poller.providers.base.Provider`).

    ``timeout_s`` bounds each whole call (connect, headers and body together), not each read.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        hosts: Mapping[str, HostConfig],
        api_key: Secret | None,
        clock: Clock,
        timeout_s: float = 10.0,
        max_ids: int = 20,
        metrics: PollerMetrics | None = None,
        on_call: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self._client = client
        #: Told ``(sport, path, now)`` for every HTTP request made (the cost ledger).
        self._on_call = on_call
        self._hosts = hosts
        self._key = api_key
        self._clock = clock
        self._timeout_s = timeout_s
        self._timeout = httpx.Timeout(timeout_s)
        self._max_ids = max_ids
        self._metrics = metrics
        self._inflight: dict[
            tuple[str, str, tuple[tuple[str, str], ...]], asyncio.Future[Fetch]
        ] = {}
        #: Sports whose plan refused ``ids=`` (Free): fall back to one ``id=`` per match.
        self._ids_refused: set[str] = set()

    async def live(self, sport: str, *, day: str) -> Fetch:
        if sport == "football":
            return await self.get(sport, "fixtures", {"live": "all"})
        return await self.by_date(sport, day)

    async def by_date(self, sport: str, day: str) -> Fetch:
        path = "fixtures" if sport == "football" else "games"
        return await self.get(sport, path, {"date": day, "timezone": "UTC"})

    async def leagues(self, sport: str) -> Fetch:
        # Football can narrow to current seasons (§3); the v1 hosts document no such filter.
        params = {"current": "true"} if sport == "football" else {}
        return await self.get(sport, "leagues", params)

    async def teams(self, sport: str, league: int, season: str) -> Fetch:
        return await self.get(sport, "teams", {"league": str(league), "season": season})

    async def standings(self, sport: str, league: int, season: str) -> Fetch:
        if sport not in HAS_STANDINGS:
            # Not in the upstream reference for the v1 hosts (§8.3): refuse without a call.
            raise BadRequest(f"{sport} standings: not offered by this host")
        return await self.get(sport, "standings", {"league": str(league), "season": season})

    async def by_ids(self, sport: str, ids: Sequence[int]) -> Fetch:
        if not ids:
            return Fetch([], Quota(), self._clock.time())
        if sport == "football" and sport not in self._ids_refused:
            items: list[Any] = []
            fetch: Fetch | None = None
            try:
                for start in range(0, len(ids), self._max_ids):
                    chunk = ids[start : start + self._max_ids]
                    fetch = await self.get(sport, "fixtures", {"ids": "-".join(map(str, chunk))})
                    items.extend(fetch.items)
                assert fetch is not None
                return Fetch(items, fetch.quota, fetch.received_at)
            except PlanRestricted:
                logger.warning("%s: plan refuses ids=, falling back to id= per match", sport)
                self._ids_refused.add(sport)
        path, param = ("fixtures", "id") if sport == "football" else ("games", "id")
        results = [await self.get(sport, path, {param: str(i)}) for i in ids]
        return Fetch(
            [i for r in results for i in r.items], results[-1].quota, results[-1].received_at
        )

    async def get(self, sport: str, path: str, params: Mapping[str, str]) -> Fetch:
        """One GET, shared with any identical GET already in flight.

        Raises:
            UpstreamError: a subclass naming what went wrong.
        """
        key = (sport, path, tuple(sorted(params.items())))
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Fetch] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._request(sport, path, params)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody logs it as lost
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]

    def _headers(self, host: HostConfig) -> dict[str, str]:
        if self._key is None:
            return {}
        if host.is_rapidapi:
            return {
                "x-rapidapi-key": self._key.reveal(),
                "x-rapidapi-host": host.rapidapi_host or "",
            }
        return {"x-apisports-key": self._key.reveal()}

    async def _request(self, sport: str, path: str, params: Mapping[str, str]) -> Fetch:
        host = self._hosts[sport]
        url = f"{host.base_url.rstrip('/')}/{path}"
        if self._on_call is not None:
            self._on_call(sport, path, self._clock.time())  # a request sent is a request paid
        try:
            # httpx's timeouts are per read: a server dripping a byte a second never trips
            # them. The deadline bounds the whole call, headers and body (issue 10, item 9).
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.get(
                    url, params=dict(params), headers=self._headers(host), timeout=self._timeout
                )
        except (httpx.TimeoutException, TimeoutError) as exc:
            self._count(sport, path, "timeout")
            raise Unavailable(f"{sport} {path}: timeout") from exc
        except httpx.HTTPError as exc:
            self._count(sport, path, "transport_error")
            raise Unavailable(f"{sport} {path}: {type(exc).__name__}") from exc
        quota = parse_quota(response.headers)
        self._observe(sport, quota)
        try:
            body = self._check(sport, path, response, quota)
        except UpstreamError as exc:
            self._count(sport, path, type(exc).__name__)
            raise
        self._count(sport, path, "ok")
        items = body.get("response")
        return Fetch(items if isinstance(items, list) else [items], quota, self._clock.time())

    def _check(
        self, sport: str, path: str, response: httpx.Response, quota: Quota
    ) -> dict[str, Any]:
        status = response.status_code
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        where = f"{sport} {path}: HTTP {status}"
        if status == 429:
            message = _message(body)
            kind = QuotaExhausted if "DAILY" in message else RateLimited
            raise kind(f"{where} {message}", quota=quota)
        if status in (401, 403):
            if isinstance(body, dict):
                raise AuthRejected(f"{where} {_message(body)}", quota=quota)
            raise Unavailable(f"{where} (firewall block)", quota=quota)
        if status == 404:
            raise BadRequest(f"{where} {_message(body)}", quota=quota)
        if status != 200:
            raise Unavailable(f"{where} {_message(body)}", quota=quota)
        if not isinstance(body, dict):
            raise Unavailable(f"{where} body is not a JSON object", quota=quota)
        errors = body.get("errors")
        if errors:  # [] or {} when fine; a flat object when not (§2)
            mapping = errors if isinstance(errors, dict) else {"unknown": str(errors)}
            raise classify_errors(mapping)(f"{where} {_message(body)}", quota=quota)
        return body

    def _observe(self, sport: str, quota: Quota) -> None:
        if self._metrics is None:
            return
        if quota.daily_remaining is not None:
            self._metrics.quota_remaining.labels(sport=sport, window="day").set(
                quota.daily_remaining
            )
        if quota.minute_remaining is not None:
            self._metrics.quota_remaining.labels(sport=sport, window="minute").set(
                quota.minute_remaining
            )

    def _count(self, sport: str, path: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.upstream_calls.labels(sport=sport, endpoint=path, outcome=outcome).inc()
