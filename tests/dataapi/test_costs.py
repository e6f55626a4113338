"""The per-day upstream cost table on SQLite and PostgreSQL: deltas only ever add up."""

from __future__ import annotations

from dataapi.costs import SqlCostStore
from dataapi.store import open_match_engine
from poller.costs import CostRow


def test_cost_deltas_add_up_per_day_host_endpoint_and_priority(store_url: str) -> None:
    with open_match_engine(store_url) as engine:
        store = SqlCostStore(engine=engine)
        store.add([CostRow("2026-10-03", "h", "fixtures", "live", 3, 0.75)])
        store.add(
            [
                CostRow("2026-10-03", "h", "fixtures", "live", 2, 0.5),
                CostRow("2026-10-03", "h", "fixtures", "on_demand", 1, 0.25),
                CostRow("2026-10-04", "h", "fixtures", "live", 9, 2.25),
            ]
        )
        rows = store.day("2026-10-03")
    assert [(r["priority"], r["calls"], r["cost"]) for r in rows] == [
        ("live", 5, 1.25),
        ("on_demand", 1, 0.25),
    ]
