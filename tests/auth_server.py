"""A pusherd with the auth endpoints mounted, as ``python -m pusherd`` composes it (issue 5),
with a key store in a temporary SQLite file and a small tier policy of the test's choosing."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette

from auth.config import load_peppers, load_settings
from auth.keys import issue_key
from auth.sql import open_sql_key_store
from pusherd.app import build_app
from pusherd.clock import IdFactory, SystemClock
from pusherd.config import Settings
from pusherd.embedded import auth_extension
from tests.servers import RunningServer, make_settings

__all__ = ["MATCH", "POLICY", "create_key", "embedded_auth_server"]

#: pro: private and presence with one socket per key; free: public only.
POLICY = """
[[tiers]]
name = "free"
channel_kinds = ["public"]
max_connections = 2
rest_requests_per_minute = 60

[[tiers]]
name = "pro"
channel_kinds = ["public", "private", "encrypted", "presence"]
max_connections = 1
rest_requests_per_minute = 600

[[channels]]
pattern = "private-sports.{sport}.leagues.{league}.matches.{match}"
tier = "pro"

[[channels]]
pattern = "presence-sports.{sport}.leagues.{league}.matches.{match}"
tier = "pro"
user_info = ["id", "name"]

[signin]
tier = "free"
user_info = ["id", "name"]
"""
MATCH = "sports.football.leagues.premier-league.matches.7"


def create_key(database_url: str, *, tier: str, name: str) -> str:
    """A key made as ``python -m auth keys create`` makes one; returns the plain key."""
    rng = random.SystemRandom()
    # The pepper the embedded server uses: the same file beside the SQLite database.
    peppers = load_peppers(load_settings({"DATABASE_URL": database_url}), rng=rng)
    with open_sql_key_store(database_url) as store:
        key = issue_key(
            rng=rng,
            peppers=peppers,
            name=name,
            tier=tier,
            now=datetime.now(UTC),
        )
        store.put(key.record)
    return key.plain.reveal()


@contextlib.contextmanager
def embedded_auth_server(
    directory: Path,
    database_url: str,
    *,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Iterator[RunningServer]:
    """``environ`` adds auth variables (e.g. ``REDIS_URL``); ``settings`` replaces the server's."""
    policy_file = directory / "policy.toml"
    policy_file.write_text(POLICY)
    environ = {
        "DATABASE_URL": database_url,
        "AUTH_POLICY_FILE": str(policy_file),
        **(environ or {}),
    }
    with contextlib.ExitStack() as resources:

        def embedded_app(settings: Settings) -> Starlette:
            clock, rng = SystemClock(), random.Random()
            auth = auth_extension(environ, settings, clock=clock, rng=rng, resources=resources)
            return build_app(
                settings,
                clock=clock,
                ids=IdFactory(rng),
                rng=rng,
                companions=(auth.companion,),
                mounts=(auth.mount,),
                key_quota=auth.key_quota,
            )

        running = RunningServer(settings or make_settings(), app_factory=embedded_app).start()
        try:
            yield running
        finally:
            running.stop()
