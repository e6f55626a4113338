"""``pusherd`` / ``python -m pusherd``: the only place that reads the environment and argv."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pusherd.app import build_app, server_config
from pusherd.clock import IdFactory, SystemClock
from pusherd.config import ConfigError, Settings, load_settings
from pusherd.data_api import data_api_extension, migrate_match_store
from pusherd.embedded import (
    AuthExtension,
    auth_extension,
    migrate_auth_database,
    poller_companion,
    scoreboard_routes,
)
from pusherd.frontdoor import FrontDoorStats
from pusherd.handover import HandoverServer
from pusherd.logs import configure_logging
from pusherd.readiness import Readiness
from pusherd.runtime_settings import load_runtime_settings
from pusherd.tls import ReloadableTls
from pusherd.workers import NODE_ENV, PORT_ENV, WORKER_ENV, listening_socket, supervise

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
    parser.add_argument(
        "--metrics-token",
        help="bearer token for GET /metrics (or PUSHERD_METRICS_TOKEN); "
        "without one, /metrics answers loopback clients only",
    )
    parser.add_argument(
        "--workers",
        help="worker processes on one port (SO_REUSEPORT); 'auto' = CPU count; "
        "more than 1 needs the Redis adapter (or PUSHERD_WORKERS)",
    )
    parser.add_argument("--tls-cert", help="PEM certificate chain (or PUSHERD_TLS_CERT)")
    parser.add_argument("--tls-key", help="PEM private key (or PUSHERD_TLS_KEY); SIGHUP reloads")
    parser.add_argument(
        "--log-format", choices=["text", "json"], help="log lines (or PUSHERD_LOG_FORMAT)"
    )
    parser.add_argument(
        "--handover-window",
        help="seconds over which SIGTERM spreads the reconnect closes (default 5)",
    )
    return parser.parse_args(argv)


def _banner(settings: Settings, auth: AuthExtension) -> str:
    scheme = "https" if settings.tls_cert else "http"
    base = f"{scheme}://{settings.host}:{settings.port}"
    lines = [f"pusherd listening on {base}"]
    for app in settings.apps:
        # The secret is printed only for the built-in demo app, whose secret is public anyway.
        secret = app.secret.reveal() if settings.is_demo_app else "(from your configuration)"
        lines.append(f"  app id {app.app_id}  key {app.key}  secret {secret}")
        ws = "wss" if settings.tls_cert else "ws"
        lines.append(
            f"  WebSocket: {ws}://{settings.host}:{settings.port}/app/{app.key}?protocol=7"
        )
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
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = _parse_args(arguments)
    try:
        settings = load_settings(
            os.environ,
            host=args.host,
            port=args.port,
            apps_file=args.apps_file,
            run_poller=False if args.no_poller else None,
            metrics_token=args.metrics_token,
        )
        settings = load_runtime_settings(
            settings,
            os.environ,
            workers=args.workers,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            log_format=args.log_format,
            handover_window_s=args.handover_window,
        )
    except ConfigError as exc:
        print(f"pusherd: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_level, settings.log_format)
    worker_index = os.environ.get(WORKER_ENV)
    if settings.workers > 1 and worker_index is None:
        try:
            migrate_auth_database(os.environ)
            migrate_match_store(os.environ)
        except ValueError as exc:
            print(f"pusherd: configuration error: {exc}", file=sys.stderr)
            return 2
        return supervise(settings, arguments, os.environ)
    return _serve(settings, args, worker_index)


def _serve(settings: Settings, args: argparse.Namespace, worker_index: str | None) -> int:
    """One server process: the only one, or worker ``worker_index`` of a supervisor."""
    if worker_index is not None:
        settings = replace(settings, port=int(os.environ[PORT_ENV]))
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
            readiness = Readiness()
            readiness.add("sql", auth.sql_ready)
            node_id = os.environ.get(NODE_ENV) or f"{system_random.getrandbits(64):016x}"
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
                    on_demand=data_api.on_demand,
                    cost_sink=data_api.costs,
                    readiness=readiness,
                    holder=node_id,
                )
        except ValueError as exc:
            print(f"pusherd: configuration error: {exc}", file=sys.stderr)
            return 2
        front_door_stats = FrontDoorStats()
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
            front_door_stats=front_door_stats,
            readiness=readiness,
            node_id=node_id,
        )
        tls = None
        if settings.tls_cert is not None and settings.tls_key is not None:
            tls = ReloadableTls(settings.tls_cert, settings.tls_key)
            reloadable = tls
            signal.signal(signal.SIGHUP, lambda signum, frame: _reload(reloadable))
        if worker_index is None or worker_index == "0":
            if settings.log_format == "json":  # every line of the output is one JSON object
                for line in _banner(settings, auth).splitlines():
                    logging.getLogger("pusherd").info(line.strip())
            else:
                print(_banner(settings, auth), flush=True)
        config = server_config(settings, app, front_door_stats=front_door_stats, tls=tls)
        server = HandoverServer(config, readiness=readiness, window_s=settings.handover_window_s)
        # Workers share the port through SO_REUSEPORT; a single process owns it alone, so
        # that a second pusherd started on the same port by mistake fails loudly.
        sock = listening_socket(settings.host, settings.port, reuse_port=worker_index is not None)
        server.run(sockets=[sock])
    return 0


def _reload(tls: ReloadableTls) -> Any:
    return tls.reload()


if __name__ == "__main__":
    sys.exit(main())
