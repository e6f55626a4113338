from __future__ import annotations

from poller.metrics import PollerMetrics
from poller.resilience import BreakerState


def test_each_instance_has_its_own_registry_and_circuit_gauge() -> None:
    a, b = PollerMetrics(), PollerMetrics()
    a.set_circuit("football", BreakerState.OPEN)
    a.polls.labels(sport="football", kind="live").inc()
    assert a.registry.get_sample_value("poller_circuit_state", {"sport": "football"}) == 2
    assert (
        a.registry.get_sample_value("poller_polls_total", {"sport": "football", "kind": "live"})
        == 1
    )
    assert b.registry.get_sample_value("poller_circuit_state", {"sport": "football"}) is None
