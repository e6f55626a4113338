"""APScheduler wiring only: one interval job per sport that runs its loop's step when due.

The job ticks every ``tick_s`` real seconds (``max_instances=1``, ``coalesce=True``: a slow step
is never run twice at once, and missed ticks collapse into one); the step itself decides what is
due from the injected clock, so the demo can run faster than real time with the same code.
Stopping waits a bounded time for a step in flight, then cancels it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from poller.clock import Clock
from poller.poll import SportPoller

__all__ = ["PollScheduler"]

logger = logging.getLogger("poller.scheduler")


class PollScheduler:
    def __init__(
        self, pollers: Sequence[SportPoller], *, clock: Clock, tick_s: float = 0.5
    ) -> None:
        self._pollers = {p.sport: p for p in pollers}
        self._clock = clock
        self._tick_s = tick_s
        self._due = {sport: 0.0 for sport in self._pollers}
        self._running: set[asyncio.Task[Any]] = set()
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        for sport in self._pollers:
            self._scheduler.add_job(
                self._tick,
                "interval",
                seconds=self._tick_s,
                args=[sport],
                id=f"poll-{sport}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        self._scheduler.start()
        logger.info("polling %s", ", ".join(self._pollers))

    async def _tick(self, sport: str) -> None:
        if self._clock.time() < self._due[sport]:
            return
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            delay = await self._pollers[sport].step()
            self._due[sport] = self._clock.time() + delay
        except asyncio.CancelledError:
            # Only stop() cancels a step (after its grace period): the job simply ends.
            logger.warning("%s: poll step abandoned at shutdown", sport)
        except Exception:
            logger.error("%s: poll step crashed", sport, exc_info=True)
            self._due[sport] = self._clock.time() + 30.0
        finally:
            self._running.discard(task)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stop ticking; let a step in flight finish within ``timeout_s``, else cancel it.

        The scheduler is paused first and shut down last: APScheduler's own shutdown cancels
        running jobs at once, which would skip the grace period.
        """
        self._scheduler.pause()
        running = set(self._running)
        if running:
            _, pending = await asyncio.wait(running, timeout=timeout_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        self._scheduler.shutdown(wait=False)
