"""The embedded poller under per-sport Redis leases (issue 14, item 2): with many workers or
nodes, each sport is polled by exactly one process, and by another within a lease's time when
that one dies (see :mod:`poller.lease`).

Each sport gets a loop: try the lease every ``retry_s``; while held, run the embedded poller
for that sport alone and renew every third of the lease; on losing it (Redis unreachable past
the lease, or a pause), stop polling at once — two pollers for a while would send every event
twice. A clean stop releases the leases, so a surviving process takes over immediately.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Protocol

from redis.exceptions import RedisError

from pusherd.pollerhealth import poller_freshness
from pusherd.readiness import Readiness

__all__ = ["leased_pollers"]

logger = logging.getLogger("pusherd.pollerlease")

#: ``(environ) -> async context manager yielding a RunningPoller`` for the sports it names.
PollerFactory = Callable[[Mapping[str, str]], contextlib.AbstractAsyncContextManager[Any]]


class Lease(Protocol):
    """:class:`poller.lease.RedisLease`, given by the composition (the server does not import
    the poller)."""

    ttl_ms: int
    holder: str

    async def acquire(self) -> bool: ...

    async def renew(self) -> bool: ...

    async def release(self) -> None: ...


async def _hold(
    sport: str,
    lease: Lease,
    run: PollerFactory,
    environ: Mapping[str, str],
    readiness: Readiness | None,
    retry_s: float,
) -> None:
    renew_s = lease.ttl_ms / 3000
    while True:
        try:
            held = await lease.acquire()
        except (RedisError, OSError) as exc:
            logger.warning("%s: lease unavailable: %s", sport, type(exc).__name__)
            held = False
        if not held:
            await asyncio.sleep(retry_s)
            continue
        logger.info("%s: lease taken by %s; polling here", sport, lease.holder)
        try:
            async with run({**environ, "POLLER_SPORTS": sport}) as poller:
                if readiness is not None:
                    readiness.add(
                        f"poller:{sport}",
                        poller_freshness(
                            poller.pollers, registry=poller.metrics.registry, clock=poller.clock
                        ),
                    )
                while True:
                    await asyncio.sleep(renew_s)
                    try:
                        if not await lease.renew():
                            break
                    except (RedisError, OSError):
                        break
            logger.warning("%s: lease lost; stopped polling here", sport)
        finally:
            if readiness is not None:
                readiness.remove(f"poller:{sport}")


@contextlib.asynccontextmanager
async def leased_pollers(
    *,
    lease_for: Callable[[str], Lease],
    sports: Sequence[str],
    run: PollerFactory,
    environ: Mapping[str, str],
    readiness: Readiness | None = None,
    retry_s: float = 1.0,
) -> AsyncIterator[dict[str, Lease]]:
    """Run the per-sport lease loops until the block exits, then release what is held."""
    leases = {sport: lease_for(sport) for sport in sports}
    tasks = [
        asyncio.create_task(_hold(sport, lease, run, environ, readiness, retry_s))
        for sport, lease in leases.items()
    ]
    try:
        yield leases
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for lease in leases.values():
            with contextlib.suppress(RedisError, OSError):
                await lease.release()
