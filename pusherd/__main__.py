"""``pusherd`` / ``python -m pusherd``: the only place that reads the environment and argv."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import sys
from collections.abc import Sequence

import uvicorn

from pusherd.app import build_app, server_config
from pusherd.clock import IdFactory, SystemClock
from pusherd.config import ConfigError, Settings, load_settings
from pusherd.data_api import data_api_extension
from pusherd.embedded import (
    AuthExtension,
    auth_extension,
    poller_companion,
    scoreboard_routes,
)

__all__ = ["main"]


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pusherd", description="A Pusher Channels protocol 7 server."
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port for WebSockets and the HTTP API (8080)")
    parser.add_argument("--apps-file", help="TOML file with [[apps]] tables")
    parser.add_argument(
        "--no-poller", action="store_true", help="do not run the embedded simulated poller"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    return parser.parse_args(argv)


def _banner(settings: Settings, auth: AuthExtension) -> str:
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"pusherd listening on {base}"]
    for app in settings.apps:
        # The secret is printed only for the built-in demo app, whose secret is public anyway.
        secret = app.secret.reveal() if settings.is_demo_app else "(from your configuration)"
        lines.append(f"  app id {app.app_id}  key {app.key}  secret {secret}")
        lines.append(f"  WebSocket: ws://{settings.host}:{settings.port}/app/{app.key}?protocol=7")
    lines.append(f"  channel auth: {base}/broadcasting/auth")
    lines.append(f"  data API: {base}/api/v1/sports (an API key in Authorization: Bearer …)")
    lines.append(f"  API keys: {auth.database_url} (python -m auth keys create --help)")
    if settings.is_demo_app:
        lines.append("  (demo credentials: set PUSHERD_APP_ID/KEY/SECRET for real use)")
    if auth.demo_key is not None:
        lines.append(f"  demo API key: {auth.demo_key}")
    lines.append(f"  scoreboard: {base}/")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Migrations run at every start; their step-by-step INFO lines are noise there.
    # Per-start and per-poll chatter: migrations, the scheduler's ticks, each upstream request.
    for noisy in ("alembic", "apscheduler", "httpx", "websockets.server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings(
            os.environ,
            host=args.host,
            port=args.port,
            apps_file=args.apps_file,
            run_poller=False if args.no_poller else None,
        )
    except ConfigError as exc:
        print(f"pusherd: configuration error: {exc}", file=sys.stderr)
        return 2
    system_random = random.SystemRandom()
    clock = SystemClock()
    with contextlib.ExitStack() as resources:
        try:
            auth = auth_extension(
                os.environ,
                settings,
                clock=clock,
                rng=system_random,
                resources=resources,
                has_demo_key=settings.is_demo_app,
            )
            sports = os.environ.get("POLLER_SPORTS", "football,basketball,baseball")
            data_api = data_api_extension(
                os.environ,
                settings,
                verifier=auth.verifier,
                policy=auth.policy,
                clock=clock,
                resources=resources,
                sports=tuple(s.strip() for s in sports.split(",") if s.strip()),
                rng=system_random,
            )
            poller = None
            if settings.run_poller:
                poller = poller_companion(
                    os.environ,
                    settings,
                    cache=data_api.cache,
                    recorder=data_api.recorder,
                    retention_s=data_api.retention_s,
                )
        except ValueError as exc:
            print(f"pusherd: configuration error: {exc}", file=sys.stderr)
            return 2
        app = build_app(
            settings,
            clock=clock,
            ids=IdFactory(system_random),
            rng=system_random,
            companions=(auth.companion, data_api.companion)
            if poller is None
            else (auth.companion, data_api.companion, poller),
            # The data API first: the scoreboard answers every other GET, auth every POST.
            mounts=(data_api.mount, *scoreboard_routes(os.environ, settings), auth.mount),
            key_quota=auth.key_quota,
        )
        print(_banner(settings, auth), flush=True)
        uvicorn.Server(server_config(settings, app)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
