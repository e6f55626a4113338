"""``python -m poller.simulator``: the fake upstream on its own, for manual runs and other tests.

Serves a seeded demo day on 127.0.0.1 (``--port 0`` picks a free port and prints it); the key is
``demo-key`` on every sport (``/football``, ``/basketball``, ``/baseball`` path prefixes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from poller.simulator.running import DEMO_KEY, simulation


async def _run(args: argparse.Namespace) -> None:
    async with simulation(seed=args.seed, speed=args.speed, port=args.port) as sim:
        print(f"simulated API-Sports on {sim.base_url} (key {DEMO_KEY})", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=args.duration)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poller.simulator")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
