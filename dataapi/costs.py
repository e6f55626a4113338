"""The orchestrator's upstream cost ledger, kept per day in SQL for the console.

The poller counts every upstream call (``poller.costs.CostLedger``) and hands this store the
deltas; each row adds to its day's total for one host, endpoint and priority, so a flush
repeated after a failure or several poller processes writing the same day only ever add. Rows
are taken structurally (:class:`CostDelta`): the data API imports nothing of the poller's
orchestrator, and the poller reaches this module only from its composition root.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from dataapi.tables import upstream_costs

__all__ = ["CostDelta", "SqlCostStore"]


class CostDelta(Protocol):
    @property
    def day(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def calls(self) -> int: ...
    @property
    def cost(self) -> float: ...


class SqlCostStore:
    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def add(self, rows: Sequence[CostDelta]) -> None:
        """Add each delta to its day's row (insert, or add on a key clash), in one transaction."""
        if not rows:
            return
        with self._engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for row in rows:
                statement = dialect.insert(upstream_costs).values(
                    day=row.day,
                    host=row.host,
                    endpoint=row.endpoint,
                    priority=row.priority,
                    calls=row.calls,
                    cost=row.cost,
                )
                statement = statement.on_conflict_do_update(
                    index_elements=["day", "host", "endpoint", "priority"],
                    set_={
                        "calls": upstream_costs.c.calls + statement.excluded.calls,
                        "cost": upstream_costs.c.cost + statement.excluded.cost,
                    },
                )
                conn.execute(statement)

    def day(self, day: str) -> list[dict[str, Any]]:
        """One day's rows (``YYYY-MM-DD``), by host, endpoint and priority."""
        query = (
            sa.select(upstream_costs)
            .where(upstream_costs.c.day == day)
            .order_by(upstream_costs.c.host, upstream_costs.c.endpoint, upstream_costs.c.priority)
        )
        with self._engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
