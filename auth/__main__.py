"""``python -m auth``: argv + environment → settings → a command. The only reader of os.environ.

::

    python -m auth keys create --name "Ada" --tier pro [--expires-in-days 30] [--user-id ID]
    python -m auth keys list
    python -m auth keys revoke KEY_ID
    python -m auth keys rotate KEY_ID [--grace-s 3600]
    python -m auth keys set-tier KEY_ID TIER
    python -m auth db upgrade [REV] | db downgrade [REV] | db current
    python -m auth serve [--host 127.0.0.1] [--port 8001]
    python -m auth usage [--key ID] [--days 7]     (the data API's usage; see dataapi.usage_report)

``keys`` and ``serve`` migrate the database to the latest schema first, so a newcomer's first
command works on an empty SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

import redis as sync_redis
import uvicorn
from argon2 import PasswordHasher
from redis.asyncio import Redis
from sqlalchemy.engine import Engine

from auth import cli, migrate
from auth.app import build_auth_app
from auth.channel_auth import AppCredentials
from auth.clock import SystemClock
from auth.config import AuthSettings, load_peppers, load_settings, read_policy
from auth.revocation import publish_revocation, publish_tier_change
from auth.sql import SqlKeyStore, create_engine_for_url

__all__ = ["main", "parse_args", "run"]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m auth", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = keys.add_parser("create", help="issue a key (shown once)")
    create.add_argument("--name", required=True, help="display name shown to presence members")
    create.add_argument("--tier", required=True)
    create.add_argument("--expires-in-days", type=float, default=None)
    create.add_argument(
        "--user-id", default=None, help="presence user id (default: an opaque id, never the key id)"
    )
    keys.add_parser("list", help="list keys (never the secrets)")
    revoke = keys.add_parser("revoke", help="revoke a key now")
    revoke.add_argument("key_id")
    rotate = keys.add_parser("rotate", help="replace a key, keeping its identity")
    rotate.add_argument("key_id")
    rotate.add_argument("--grace-s", type=float, default=0.0, help="old key stays valid this long")
    set_tier = keys.add_parser(
        "set-tier", help="change a key's tier; sockets it authorised are closed on every node"
    )
    set_tier.add_argument("key_id")
    set_tier.add_argument("tier")
    db = commands.add_parser("db", help="schema migrations").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade").add_argument("revision", nargs="?", default=migrate.HEAD)
    db.add_parser("downgrade").add_argument("revision", nargs="?", default="base")
    db.add_parser("current")
    serve = commands.add_parser("serve", help="serve the auth endpoints on their own")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    return parser.parse_args(list(argv))


def _announcer(
    settings: AuthSettings,
) -> tuple[cli.Announce, cli.AnnounceTier, sync_redis.Redis | None]:
    """Redis publishes when configured; without Redis, nodes poll the database instead."""
    if settings.redis_url is None:
        return (lambda key_id: None), (lambda key_id, tier: None), None
    client = sync_redis.Redis.from_url(settings.redis_url)
    prefix = settings.options.redis_prefix

    def announce(key_id: str) -> None:
        publish_revocation(client, prefix, key_id)

    def announce_tier(key_id: str, tier: str) -> None:
        publish_tier_change(client, prefix, key_id, tier)

    return announce, announce_tier, client


def _keys(args: argparse.Namespace, settings: AuthSettings, engine: Engine, out: TextIO) -> None:
    store = SqlKeyStore(engine=engine)
    clock, rng = SystemClock(), random.SystemRandom()
    if args.action == "create":
        expires_in_s = None if args.expires_in_days is None else args.expires_in_days * 86400
        cli.create_key(
            store=store,
            tiers=read_policy(settings.policy_file).tiers,
            peppers=load_peppers(settings, rng=rng),
            rng=rng,
            clock=clock,
            name=args.name,
            tier=args.tier,
            expires_in_s=expires_in_s,
            user_id=args.user_id,
            out=out,
        )
        return
    if args.action == "list":
        cli.list_keys(store=store, clock=clock, out=out)
        return
    announce, announce_tier, client = _announcer(settings)
    try:
        if args.action == "set-tier":
            cli.set_tier(
                store=store,
                tiers=read_policy(settings.policy_file).tiers,
                clock=clock,
                key_id=args.key_id,
                tier=args.tier,
                announce_tier=announce_tier,
                out=out,
            )
        elif args.action == "revoke":
            cli.revoke_key(store=store, clock=clock, key_id=args.key_id, announce=announce, out=out)
        else:
            cli.rotate_key(
                store=store,
                peppers=load_peppers(settings, rng=rng),
                rng=rng,
                clock=clock,
                key_id=args.key_id,
                grace_s=args.grace_s,
                announce=announce,
                out=out,
            )
    finally:
        if client is not None:
            client.close()


async def _serve(args: argparse.Namespace, settings: AuthSettings, engine: Engine) -> None:
    if settings.app_key is None or settings.app_secret is None:
        raise cli.CommandError("serve needs PUSHERD_APP_KEY and PUSHERD_APP_SECRET (or PUSHER_…)")
    credentials = AppCredentials(
        key=settings.app_key,
        secret=settings.app_secret,
        encryption_master_key_base64=settings.encryption_master_key_base64,
    )
    redis = None if settings.redis_url is None else Redis.from_url(settings.redis_url)
    store = SqlKeyStore(engine=engine)
    try:
        app = build_auth_app(
            store=store,
            policy=read_policy(settings.policy_file),
            credentials=credentials,
            clock=SystemClock(),
            peppers=load_peppers(settings, rng=random.SystemRandom()),
            hasher=PasswordHasher(),
            rng=random.SystemRandom(),
            redis=redis,
            options=settings.options,
        )
        # No access log: a line per request is the per-message INFO logging the house style
        # rules out, and it would cost a storm of auth calls a large share of its CPU.
        config = uvicorn.Config(
            app, host=args.host, port=args.port, log_level="info", access_log=False
        )
        await uvicorn.Server(config).serve()
    finally:
        store.close()
        if redis is not None:
            await redis.aclose()


def run(argv: Sequence[str], environ: Mapping[str, str], out: TextIO) -> int:
    """Run one command; returns the exit status (1 for a configuration or usage error)."""
    if list(argv)[:1] == ["usage"]:  # the numbers are the data API's: its module prints them
        from dataapi.usage_report import run as usage_report

        return usage_report(list(argv)[1:], environ, out)
    args = parse_args(argv)
    try:
        settings = load_settings(environ)
        engine = create_engine_for_url(settings.database_url)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    try:
        if args.command == "db":
            if args.action == "upgrade":
                migrate.upgrade(engine, args.revision)
            elif args.action == "downgrade":
                migrate.downgrade(engine, args.revision)
            out.write(f"database at revision {migrate.current_revision(engine) or 'base'}\n")
            return 0
        migrate.upgrade(engine)
        if args.command == "keys":
            _keys(args, settings, engine, out)
        else:
            asyncio.run(_serve(args, settings, engine))
        return 0
    except (cli.CommandError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        engine.dispose()


def main() -> None:
    sys.exit(run(sys.argv[1:], os.environ, sys.stdout))


if __name__ == "__main__":
    main()
