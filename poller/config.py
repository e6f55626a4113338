"""Poller settings: one frozen value built from a mapping (the environment, in ``__main__`` only).

Access modes (upstream reference §1): *direct* API-Sports hosts with ``x-apisports-key`` (the
default), or the RapidAPI marketplace with ``x-rapidapi-key`` + ``x-rapidapi-host`` (chosen when
``RAPIDAPI_HOST`` is a ``*.p.rapidapi.com`` host). ``RAPIDAPI_BASE_URL`` overrides the football
base URL (with RapidAPI's ``/v3``); ``POLLER_<SPORT>_BASE_URL`` overrides the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from poller.catalogue import LeagueCatalogue
from poller.plan import DEFAULT_CADENCES, Cadence
from pusherd.protocol.secret import Secret

__all__ = [
    "DEFAULT_CATALOGUE_PATH",
    "HostConfig",
    "PollerSettings",
    "Secret",
    "SettingsError",
    "load_catalogue",
    "load_settings",
]

DEFAULT_CATALOGUE_PATH = Path(__file__).with_name("leagues.json")

DIRECT_BASE = {
    "football": "https://v3.football.api-sports.io",
    "basketball": "https://v1.basketball.api-sports.io",
    "baseball": "https://v1.baseball.api-sports.io",
}
RAPID_HOSTS = {
    "football": ("api-football-v1.p.rapidapi.com", "/v3"),
    "basketball": ("api-basketball.p.rapidapi.com", ""),
    "baseball": ("api-baseball.p.rapidapi.com", ""),
}


class SettingsError(ValueError):
    """A setting could not be read; the message names the key and the value."""


@dataclass(frozen=True, slots=True)
class HostConfig:
    sport: str
    base_url: str
    is_rapidapi: bool = False
    rapidapi_host: str | None = None


@dataclass(frozen=True, slots=True)
class PollerSettings:
    hosts: Mapping[str, HostConfig]
    api_key: Secret | None = None
    app_id: str = "1"
    redis_url: str | None = None
    redis_prefix: str = "pusherd:"
    #: Assumed plan until the upstream's headers say otherwise (Free: 100/day, 10/min).
    daily_limit: int = 100
    minute_limit: int = 10
    quota_reserve: int = 5
    timeout_s: float = 10.0
    cadences: Mapping[str, Cadence] = field(default_factory=lambda: dict(DEFAULT_CADENCES))
    catalogue_path: Path = DEFAULT_CATALOGUE_PATH
    max_ids_per_call: int = 20
    #: Keep fetching a finished match by id this long, for late corrections (§7.5).
    finished_grace_s: float = 600.0
    #: What one upstream call costs on the plan (the cost ledger's price; 0 counts calls only).
    price_per_call: float = 0.0

    @property
    def sports(self) -> tuple[str, ...]:
        return tuple(self.hosts)


def _int(environ: Mapping[str, str], key: str, default: int) -> int:
    raw = environ.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{key} must be an integer, got {raw!r}") from None


def _float(environ: Mapping[str, str], key: str, default: float) -> float:
    raw = environ.get(key)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{key} must be a number, got {raw!r}") from None


def load_catalogue(path: Path = DEFAULT_CATALOGUE_PATH) -> LeagueCatalogue:
    """Read the league catalogue file.

    Raises:
        ValueError: the file is not a valid catalogue (the message names the file).
    """
    return LeagueCatalogue.parse(path.read_bytes(), str(path))


def simulated_hosts(base_url: str, sports: tuple[str, ...]) -> dict[str, HostConfig]:
    """Every sport on the simulator, mounted under its sport path prefix."""
    return {s: HostConfig(s, f"{base_url.rstrip('/')}/{s}") for s in sports}


def load_settings(
    environ: Mapping[str, str], *, simulator_url: str | None = None
) -> PollerSettings:
    """Build settings from ``environ``; with ``simulator_url`` every sport polls the simulator.

    Raises:
        SettingsError: a value has the wrong type or names an unknown sport.
    """
    sports = tuple(
        s.strip()
        for s in environ.get("POLLER_SPORTS", "football,basketball,baseball").split(",")
        if s.strip()
    )
    for sport in sports:
        if sport not in DIRECT_BASE:
            raise SettingsError(f"POLLER_SPORTS: unknown sport {sport!r}")
    key = environ.get("RAPIDAPI_KEY") or None
    if simulator_url is not None:
        hosts = simulated_hosts(simulator_url, sports)
        key = key or "demo-key"
    else:
        rapid_host = environ.get("RAPIDAPI_HOST", "")
        is_rapid = rapid_host.endswith(".p.rapidapi.com")
        hosts = {}
        for sport in sports:
            override = environ.get(f"POLLER_{sport.upper()}_BASE_URL")
            if sport == "football" and environ.get("RAPIDAPI_BASE_URL"):
                override = environ["RAPIDAPI_BASE_URL"]
            if is_rapid:
                host, prefix = RAPID_HOSTS[sport]
                if sport == "football":
                    host = rapid_host
                base = override or f"https://{host}{prefix}"
                hosts[sport] = HostConfig(sport, base, True, host)
            else:
                base = override or (
                    f"https://{rapid_host}"
                    if rapid_host and sport == "football"
                    else DIRECT_BASE[sport]
                )
                hosts[sport] = HostConfig(sport, base)
    return PollerSettings(
        hosts=hosts,
        api_key=Secret(key) if key else None,
        app_id=environ.get("POLLER_APP_ID", "1"),
        redis_url=environ.get("REDIS_URL") or None,
        redis_prefix=environ.get("PUSHERD_REDIS_PREFIX", "pusherd:"),
        daily_limit=_int(environ, "POLLER_DAILY_LIMIT", 100),
        minute_limit=_int(environ, "POLLER_MINUTE_LIMIT", 10),
        quota_reserve=_int(environ, "POLLER_QUOTA_RESERVE", 5),
        timeout_s=_float(environ, "POLLER_TIMEOUT_S", 10.0),
        price_per_call=_float(environ, "POLLER_PRICE_PER_CALL", 0.0),
        catalogue_path=Path(environ.get("POLLER_LEAGUES_FILE", str(DEFAULT_CATALOGUE_PATH))),
    )
