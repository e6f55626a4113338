"""The fake API-Sports HTTP app (Starlette) and its in-process control plane.

Routing (upstream reference §8.1): a sport path prefix (``/football/fixtures``), or the real
``Host`` header (``v3.football.api-sports.io``); RapidAPI mode under ``/rapidapi/<listing>/``
(football needs ``/v3``) or on the ``*.p.rapidapi.com`` host, with the gateway's own
``{"message"}`` errors. Order of checks per request: auth → suspension → daily quota → per-minute
limit → injected fault → quota count → answer. ``/status`` is free and carries no quota headers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from poller.simulator.endpoints import answer
from poller.simulator.faults import Fault, FaultKind, Faults
from poller.simulator.quota import Account, Ledger
from poller.simulator.world import World

__all__ = ["RequestRecord", "Simulator", "build_app"]

logger = logging.getLogger("poller.simulator.app")

DIRECT_HOSTS = {
    "v3.football.api-sports.io": "football",
    "v1.basketball.api-sports.io": "basketball",
    "v1.baseball.api-sports.io": "baseball",
}
RAPID_LISTINGS = {
    "api-football-v1": "football",
    "api-basketball": "basketball",
    "api-baseball": "baseball",
}
SPORTS = frozenset(DIRECT_HOSTS.values())
TOKEN_ERROR = (
    "Error/Missing application key. Go to https://www.api-football.com/"
    "documentation-v3 to learn how to get your API application key."
)
DAILY_ERROR = (
    "You have reached the request limit for the day, Go to "
    "https://dashboard.api-football.com to upgrade your plan."
)
SUSPENDED = "Your account is suspended, check on https://dashboard.api-football.com."
BUG = {
    "time": "2026-10-03T14:31:07+00:00",
    "report": "fixtures",
    "bug": "This is on our side, please report us this bug on https://dashboard.api-football.com",
}
SERVER_ERROR = {"message": "Something went wrong while fetching details. Try again later."}
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    at: float
    sport: str
    path: str
    params: dict[str, str]
    status: int
    is_counted: bool
    #: The first key of a non-empty ``errors`` object (``rateLimit``, ``requests``…), if any.
    error: str | None = None


@dataclass
class Simulator:
    """Everything a test may steer: the world, accounts, faults; and the request log."""

    world: World
    accounts: dict[str, Account] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    ledger: Ledger = field(default_factory=Ledger)
    log: list[RequestRecord] = field(default_factory=list)
    #: Per-minute overflow behaviour: "legacy" (200 + errors.rateLimit), "http429", "queue".
    overflow_mode: str = "legacy"
    queue_delay_s: float = 0.5
    gate_free_ids: bool = False
    _cycle: float = field(default=-1.0, repr=False)
    _bodies: dict[tuple[object, ...], tuple[bytes, str | None]] = field(
        default_factory=dict, repr=False
    )

    def body(
        self, sport: str, path: str, params: dict[str, str], is_gated: bool
    ) -> tuple[bytes, str | None]:
        """The encoded answer, shared by every identical query within one publish cycle."""
        cycle = self.world.published_at()
        if cycle != self._cycle:
            self._cycle, self._bodies = cycle, {}
        key = (sport, path, tuple(sorted(params.items())), is_gated)
        cached = self._bodies.get(key)
        if cached is None:
            result = answer(self.world, sport, path, params, gate_free_ids=is_gated)
            body = _envelope(path, params, result.errors, result.response)
            cached = self._bodies[key] = (orjson.dumps(body), _error_of(body))
        return cached

    def calls(self, sport: str | None = None, *, counted_only: bool = True) -> list[RequestRecord]:
        return [
            r
            for r in self.log
            if (sport is None or r.sport == sport) and (r.is_counted or not counted_only)
        ]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _envelope(path: str, params: dict[str, str], errors: dict[str, Any], items: Any) -> Any:
    return {
        "get": path,
        "parameters": params or [],
        "errors": errors or [],
        "results": len(items) if isinstance(items, list) else 1,
        "paging": {"current": 1, "total": 1},
        "response": items,
    }


def _route(request: Request) -> tuple[str, str, bool, str | None] | None:
    """(sport, endpoint path, is_rapidapi, expected rapidapi host) or None if unroutable."""
    host = request.headers.get("host", "").split(":")[0]
    parts = [p for p in request.url.path.split("/") if p]
    if host in DIRECT_HOSTS:
        return DIRECT_HOSTS[host], "/".join(parts), False, None
    if host.endswith(".p.rapidapi.com"):
        listing = host.removesuffix(".p.rapidapi.com")
        parts = ["rapidapi", listing, *parts]
    if len(parts) >= 2 and parts[0] == "rapidapi" and parts[1] in RAPID_LISTINGS:
        listing, rest = parts[1], parts[2:]
        sport = RAPID_LISTINGS[listing]
        if sport == "football":
            if not rest or rest[0] != "v3":
                return sport, "!" + "/".join(rest), True, f"{listing}.p.rapidapi.com"
            rest = rest[1:]
        return sport, "/".join(rest), True, f"{listing}.p.rapidapi.com"
    if parts and parts[0] in SPORTS:
        return parts[0], "/".join(parts[1:]), False, None
    return None


def build_app(sim: Simulator) -> Starlette:
    async def handle(request: Request) -> Response:
        routed = _route(request)
        if routed is None:
            return _json(404, {"message": "Unknown host or path"})
        sport, path, is_rapid, rapid_host = routed
        params = dict(request.query_params)
        now = sim.world.clock.time()
        response, counted, error = await _serve(
            sim, request, sport, path, params, is_rapid, rapid_host
        )
        record = RequestRecord(now, sport, path, params, response.status_code, counted, error)
        sim.log.append(record)
        return response

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET"])])


def _error_of(body: Any) -> str | None:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            return str(next(iter(errors)))
        if "message" in body:
            return "message"
    return None


def _reply(
    status: int, body: Any, headers: dict[str, str] | None = None, *, counted: bool = False
) -> tuple[Response, bool, str | None]:
    return _json(status, body, headers), counted, _error_of(body)


async def _serve(
    sim: Simulator,
    request: Request,
    sport: str,
    path: str,
    params: dict[str, str],
    is_rapid: bool,
    rapid_host: str | None,
) -> tuple[Response, bool, str | None]:
    now = sim.world.clock.time()
    headers = request.headers
    if is_rapid:
        key = headers.get("x-rapidapi-key", "")
        account = sim.accounts.get(key)
        if account is None or account.channel != "rapidapi":
            msg = "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."
            return _reply(401, {"message": msg}, counted=False)
        if headers.get("x-rapidapi-host") != rapid_host:
            return _reply(403, {"message": "You are not subscribed to this API."}, counted=False)
        if path.startswith("!"):
            return _reply(404, {"message": f"Endpoint '/{path[1:]}' does not exist"}, counted=False)
    else:
        key = headers.get("x-apisports-key") or headers.get("x-rapidapi-key") or ""
        account = sim.accounts.get(key)
        if account is not None and account.channel != "direct":
            account = None
    if path == "status":
        body = _envelope(
            path,
            params,
            {},
            {
                "requests": {
                    "current": sim.ledger.daily_used(key, sport, now),
                    "limit_day": account.daily_limit if account else 0,
                }
            },
        )
        return _reply(200, body, counted=False)
    if account is None:
        return _reply(200, _envelope(path, params, {"token": TOKEN_ERROR}, []), counted=True)
    if account.is_suspended:
        return _reply(200, _envelope(path, params, {"access": SUSPENDED}, []), counted=True)
    used = sim.ledger.daily_used(key, sport, now)
    quota = _quota_headers(sim, account, sport, now, is_rapid)
    if used >= account.daily_limit:
        if is_rapid:
            msg = (
                "You have exceeded the DAILY quota for Requests on your current plan, BASIC. "
                "Upgrade your plan at https://rapidapi.com/api-sports/api/api-football"
            )
            return _reply(429, {"message": msg}, quota, counted=False)
        return _reply(
            200, _envelope(path, params, {"requests": DAILY_ERROR}, []), quota, counted=False
        )
    if sim.ledger.minute_used(key, sport, now) >= account.minute_limit:
        limit_msg = (
            f"Too many requests. Your rate limit is {account.minute_limit} requests per minute."
        )
        if sim.overflow_mode == "queue":
            await asyncio.sleep(sim.queue_delay_s)
        elif is_rapid:
            msg = (
                "You have exceeded the rate limit per minute for your plan, BASIC, "
                "by the API provider"
            )
            return _reply(429, {"message": msg}, quota, counted=False)
        else:
            status = 429 if sim.overflow_mode == "http429" else 200
            body = _envelope(path, params, {"rateLimit": limit_msg}, [])
            return _reply(status, body, quota, counted=False)
    fault = sim.faults.next_for(sport, path, now)
    if fault is not None:
        faulted = await _fault(fault, path, params)
        if faulted is not None:
            return faulted, False, fault.kind.value
    sim.ledger.count(key, sport, now)
    quota = _quota_headers(sim, account, sport, now, is_rapid)
    is_gated = sim.gate_free_ids and account.plan == "Free"
    if fault is not None and fault.kind is FaultKind.EMPTY:
        return _reply(200, _envelope(path, params, {}, []), quota, counted=True)
    body, error = sim.body(sport, path, params, is_gated)
    return Response(body, 200, quota, media_type="application/json"), True, error


def _quota_headers(
    sim: Simulator, account: Account, sport: str, now: float, is_rapid: bool
) -> dict[str, str]:
    used = sim.ledger.daily_used(account.key, sport, now)
    headers = {
        "x-ratelimit-requests-limit": str(account.daily_limit),
        "x-ratelimit-requests-remaining": str(max(0, account.daily_limit - used)),
    }
    if is_rapid:
        headers["x-ratelimit-requests-reset"] = str(sim.ledger.seconds_to_reset(now))
        headers["server"] = "RapidAPI-1.2.8"
    else:
        minute_used = sim.ledger.minute_used(account.key, sport, now)
        headers["X-RateLimit-Limit"] = str(account.minute_limit)
        headers["X-RateLimit-Remaining"] = str(max(0, account.minute_limit - minute_used))
    return headers


async def _fault(fault: Fault, path: str, params: dict[str, str]) -> Response | None:
    kind = fault.kind
    if kind is FaultKind.SLOW:
        await asyncio.sleep(fault.delay_s)
        return None
    if kind is FaultKind.TIMEOUT:
        await asyncio.sleep(fault.delay_s or 1.0)
        return _json(504, SERVER_ERROR)
    simple: dict[FaultKind, tuple[int, bytes, str]] = {
        FaultKind.HTTP_502_HTML: (502, HTML, "text/html"),
        FaultKind.HTTP_503_HTML: (503, HTML.replace(b"502 Bad Gateway", b"503"), "text/html"),
        FaultKind.FIREWALL_403: (403, b"", "text/html"),
        FaultKind.HTML_200: (200, HTML, "text/html"),
        FaultKind.TRUNCATED: (200, b'{"get": "fixtures", "response": [', "application/json"),
    }
    if kind in simple:
        status, body, media = simple[kind]
        return Response(body, status, media_type=media)
    if kind in (FaultKind.HTTP_499, FaultKind.HTTP_500):
        return _json(499 if kind is FaultKind.HTTP_499 else 500, SERVER_ERROR)
    errors: dict[FaultKind, dict[str, str]] = {
        FaultKind.RATE_LIMIT_200: {
            "rateLimit": "Too many requests. Your rate limit is 10 requests per minute."
        },
        FaultKind.HTTP_429: {
            "rateLimit": "Too many requests. Your rate limit is 10 requests per minute."
        },
        FaultKind.QUOTA_200: {"requests": DAILY_ERROR},
        FaultKind.BUG_200: BUG,
    }
    if kind in errors:
        status = 429 if kind is FaultKind.HTTP_429 else 200
        return _json(status, _envelope(path, params, errors[kind], []))
    return None
