"""``python -m poller``: argv + environment → settings → the polling loops. The only place that
reads ``os.environ``.

* ``python -m poller --simulate --print`` — no key, no Redis, no internet: the simulator plays a
  match day ten times faster than real time and every message is printed.
* ``python -m poller --simulate`` — the same day, published to pusherd through Redis
  (``REDIS_URL``, default ``redis://127.0.0.1:6379/0``).
* ``RAPIDAPI_KEY=… python -m poller`` — the real upstream (``RAPIDAPI_HOST``,
  ``RAPIDAPI_BASE_URL`` select RapidAPI or a custom base URL).

Publishing to Redis also records every match and event into the data API's match store
(``DATABASE_URL``, else ``pusherd-data.sqlite3``; ``DATA_API_RETENTION_DAYS``, 365), the record
pusherd's ``/api/v1`` reads history from, keeps each day's upstream call costs there
(``POLLER_PRICE_PER_CALL``), and takes the data API's on-demand asks from Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from poller.cache import DataCache, MemoryCache, RedisCache
from poller.clock import Clock, SystemClock
from poller.config import PollerSettings, SettingsError, load_settings
from poller.costs import CostSink
from poller.metrics import PollerMetrics
from poller.ondemand import OnDemandBoard, RedisOnDemand
from poller.publish import BusPublisher, CallbackPublisher, Publisher
from poller.record import MatchRecorder
from poller.service import running_poller
from poller.snapshots import MemorySnapshots, RedisSnapshots, SnapshotStore

logger = logging.getLogger("poller.main")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m poller", description=__doc__.split("\n")[0])
    parser.add_argument("--simulate", action="store_true", help="poll the built-in simulator")
    parser.add_argument("--speed", type=float, default=10.0, help="simulated time per real second")
    parser.add_argument("--seed", type=int, default=7, help="the simulated day's random seed")
    parser.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print messages instead of publishing them to Redis",
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after N real seconds")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on 127.0.0.1:PORT"
    )
    return parser.parse_args(argv)


def _printer(app_id: str, channel: str, frame: bytes) -> None:
    event = orjson.loads(frame)
    print(f"{channel:<60} {event['event']:<13} {event['data']}", flush=True)


async def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    metrics = PollerMetrics()
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1", registry=metrics.registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        clock: Clock = SystemClock()
        if args.simulate:
            from poller.simulator.running import simulation

            sim = await stack.enter_async_context(simulation(seed=args.seed, speed=args.speed))
            settings = load_settings(environ, simulator_url=sim.base_url)
            settings = _paid_demo(settings)
            clock = sim.clock
            logger.info("simulator on %s at %sx", sim.base_url, args.speed)
        else:
            settings = load_settings(environ)
            if settings.api_key is None:
                print(
                    "RAPIDAPI_KEY is not set: use --simulate for the built-in upstream",
                    file=sys.stderr,
                )
                return 2
        publisher: Publisher
        snapshots: SnapshotStore = MemorySnapshots()
        cache: DataCache | None = None
        recorder: MatchRecorder | None = None
        on_demand: OnDemandBoard | None = None
        cost_sink: CostSink | None = None
        retention_s = 0.0
        if args.print_only:
            publisher = CallbackPublisher(deliver=_printer, app_id=settings.app_id)
            cache = MemoryCache(clock=clock)  # no Redis: the read cache stays in memory
        else:
            redis = aioredis.Redis.from_url(
                settings.redis_url or "redis://127.0.0.1:6379/0",
                retry=Retry(ExponentialBackoff(cap=1.0), 2),
            )
            stack.push_async_callback(redis.aclose)
            publisher = BusPublisher(
                redis=redis, app_id=settings.app_id, prefix=settings.redis_prefix
            )
            snapshots = RedisSnapshots(redis=redis, prefix=settings.redis_prefix)
            cache = RedisCache(redis=redis, prefix=settings.redis_prefix)
            recorder, cost_sink, retention_s = _match_store(environ, stack)
            # pusherd's data API asks for missing matches through the same Redis.
            on_demand = RedisOnDemand(redis=redis, prefix=settings.redis_prefix)
        await stack.enter_async_context(
            running_poller(
                settings,
                publisher=publisher,
                clock=clock,
                snapshots=snapshots,
                metrics=metrics,
                cache=cache,
                recorder=recorder,
                retention_s=retention_s,
                on_demand=on_demand,
                cost_sink=cost_sink,
                tick_s=0.25 if args.simulate else 0.5,
            )
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=args.duration)
    return 0


def _match_store(
    environ: Mapping[str, str], stack: contextlib.AsyncExitStack
) -> tuple[MatchRecorder, CostSink, float]:
    """The data API's SQL store, migrated, open until ``stack`` closes (this is the poller's
    composition root, the one poller module that may reach into ``dataapi``)."""
    from dataapi.costs import SqlCostStore
    from dataapi.store import DEFAULT_DATABASE_URL, SqlMatchStore, open_match_engine

    days = environ.get("DATA_API_RETENTION_DAYS", "365")
    if not (days.isascii() and days.isdigit()) or int(days) < 1:
        raise SettingsError(f"DATA_API_RETENTION_DAYS must be a positive integer, got {days!r}")
    url = environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    engine = stack.enter_context(open_match_engine(url))
    return SqlMatchStore(engine=engine), SqlCostStore(engine=engine), int(days) * 86_400.0


def _paid_demo(settings: PollerSettings) -> PollerSettings:
    from dataclasses import replace

    return replace(settings, daily_limit=7_500, minute_limit=300)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    logging.basicConfig(
        level=environ.get("POLLER_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "httpx"):  # one line per tick/request is not lifecycle
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parse_args(argv)
    try:
        return asyncio.run(run(args, environ))
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
