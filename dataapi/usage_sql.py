"""Usage in SQL (issue 11 item 7): the hourly roll-up from the usage sink, and the reading of it.

Redis (or memory) holds each day's running totals per key (:mod:`dataapi.usage`); once an hour,
and when the server stops, :class:`UsageRollup` copies today's and yesterday's totals into
``data_api_usage`` (yesterday's too, so the last hour before midnight is never lost). A roll-up
writes totals, never deltas, and a clash keeps the larger value: rolling up twice, or from every
node at once, counts nothing twice, and a Redis that lost its data never lowers the record.
Reads (:func:`usage_rows`) serve ``python -m auth usage`` and any operator query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import anyio.to_thread
import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from dataapi.tables import api_usage
from dataapi.usage import MINUTES_FIELD, PEAK_FIELD, UsageSink

__all__ = ["ROLLUP_EVERY_S", "KeyUsage", "UsageRollup", "format_usage", "usage_rows"]

logger = logging.getLogger("dataapi.usage_sql")
ROLLUP_EVERY_S = 3600.0


class Clock(Protocol):
    def time(self) -> float: ...


def _day(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d")


def write_totals(engine: Engine, day: str, totals: dict[str, dict[str, int]], now: int) -> int:
    """Upsert ``key id → metric → total`` of ``day``, keeping the larger value; rows written."""
    rows = [
        {"day": day, "key_id": key_id, "metric": metric, "value": value, "updated_at": now}
        for key_id, fields in totals.items()
        for metric, value in fields.items()
    ]
    if not rows:
        return 0
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(api_usage).values(rows)
        larger = sa.case(
            (statement.excluded.value > api_usage.c.value, statement.excluded.value),
            else_=api_usage.c.value,
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["day", "key_id", "metric"],
                set_={"value": larger, "updated_at": statement.excluded.updated_at},
            )
        )
    return len(rows)


class UsageRollup:
    """Copies the sink's totals of today and yesterday into SQL; hourly while running."""

    def __init__(
        self, *, engine: Engine, sink: UsageSink, clock: Clock, every_s: float = ROLLUP_EVERY_S
    ) -> None:
        self._engine = engine
        self._sink = sink
        self._clock = clock
        self._every_s = every_s

    async def roll_up(self) -> int:
        """One roll-up; returns the rows written (failures are logged and retried next time)."""
        now = self._clock.time()
        written = 0
        for day in sorted({_day(now - 86_400), _day(now)}):
            try:
                totals = await self._sink.scan(day)
                written += await anyio.to_thread.run_sync(
                    write_totals, self._engine, day, totals, int(now)
                )
            except (RedisError, OSError, SQLAlchemyError) as exc:
                logger.warning("usage roll-up of %s failed, retried next hour: %s", day, exc)
        return written

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Roll up every ``every_s`` while open, and once more on the way out."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(self._every_s)
                await self.roll_up()

        task = asyncio.get_running_loop().create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.roll_up()


@dataclass(frozen=True, slots=True)
class KeyUsage:
    day: str
    key_id: str
    requests: int
    bytes: int
    refused: int
    ws_peak: int
    ws_minutes: int
    by_endpoint: dict[str, int]


def usage_rows(
    engine: Engine, *, now_s: float, days: int, key_id: str | None = None
) -> list[KeyUsage]:
    """Per key and day over the last ``days`` days (today included), newest day first."""
    first = (datetime.fromtimestamp(now_s, UTC) - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    query = sa.select(api_usage.c.day, api_usage.c.key_id, api_usage.c.metric, api_usage.c.value)
    query = query.where(api_usage.c.day >= first)
    if key_id is not None:
        query = query.where(api_usage.c.key_id == key_id)
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    with engine.connect() as conn:
        for day, key, metric, value in conn.execute(query):
            grouped.setdefault((day, key), {})[metric] = int(value)
    out = []
    for (day, key), metrics in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1])):
        requests = {m.split(":", 1)[1]: v for m, v in metrics.items() if m.startswith("requests:")}
        out.append(
            KeyUsage(
                day=day,
                key_id=key,
                requests=sum(requests.values()),
                bytes=sum(v for m, v in metrics.items() if m.startswith("bytes:")),
                refused=metrics.get("refused", 0),
                ws_peak=metrics.get(PEAK_FIELD, 0),
                ws_minutes=metrics.get(MINUTES_FIELD, 0),
                by_endpoint=requests,
            )
        )
    out.sort(key=lambda row: (row.day, row.key_id), reverse=True)
    return out


def format_usage(rows: Sequence[KeyUsage]) -> str:
    """A plain-text table, one line per key and day."""
    header = ("day", "key", "requests", "bytes", "429s", "ws peak", "ws minutes", "top endpoint")
    lines: list[Sequence[Any]] = [header]
    for row in rows:
        top = max(row.by_endpoint.items(), key=lambda item: item[1], default=("-", 0))
        lines.append(
            (
                row.day,
                row.key_id,
                row.requests,
                row.bytes,
                row.refused,
                row.ws_peak,
                row.ws_minutes,
                f"{top[0]} ({top[1]})" if top[1] else "-",
            )
        )
    widths = [max(len(str(line[n])) for line in lines) for n in range(len(header))]
    text = [
        "  ".join(
            str(cell).ljust(widths[n]) if n in (0, 1, 7) else str(cell).rjust(widths[n])
            for n, cell in enumerate(line)
        ).rstrip()
        for line in lines
    ]
    if not rows:
        text.append("(no usage recorded in this period)")
    return "\n".join(text) + "\n"
