"""The Grafana dashboard and the Prometheus alerts: promtool accepts the rules, the dashboard is
a dashboard Grafana can load, and every metric either uses is one the code really exports —
read from a live ``/metrics`` scrape of a running pusherd (Redis adapter and webhooks on, so
every conditional family shows) and from the poller's registry, so they cannot drift apart."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from poller.metrics import PollerMetrics
from pusherd.config import Secret, WebhookTarget
from tests.conftest import StartPusherd
from tests.deploy.conftest import DEPLOY, require_tool

DASHBOARD = DEPLOY / "grafana" / "pusherd.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
REDIS_URL = "redis://127.0.0.1:6379/0"
#: Series Prometheus itself makes for every target.
PROMETHEUS_OWN = {"up"}
_SUFFIX = re.compile(r"_(total|bucket|sum|count|created)$")
_METRIC = re.compile(r"\b((?:pusherd|poller)_[a-z0-9_]+|up)\b(?=\s*[{\[)=><!*+\-/ ]|$)")


def _names(exposition: str) -> set[str]:
    """Every sample name in Prometheus text (``_total``, ``_bucket``, ... as exported)."""
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {sample.name for sample in family.samples}
        if family.type == "gauge":  # a labelled gauge with no label set yet has no sample
            names.add(family.name)
    return names


def _used(expressions: list[str]) -> set[str]:
    used = set()
    for expr in expressions:
        without_labels = re.sub(r"\{[^}]*\}", "{}", expr)
        used |= {name for name in _METRIC.findall(without_labels)}
    return used


def _dashboard() -> dict[str, Any]:
    document = json.loads(DASHBOARD.read_text())
    assert isinstance(document, dict)
    return document


def _dashboard_exprs() -> list[str]:
    return [
        target["expr"] for panel in _dashboard()["panels"] for target in panel.get("targets", [])
    ]


def _alert_exprs() -> list[str]:
    document = yaml.safe_load(ALERTS.read_text())
    return [str(rule["expr"]) for group in document["groups"] for rule in group["rules"]]


@pytest.fixture
async def exported(start_pusherd: StartPusherd) -> AsyncIterator[set[str]]:
    """Names from a live scrape of pusherd plus the poller's registry, each family in use."""
    prefix = f"test:{uuid.uuid4().hex}:"
    # The Redis adapter and a webhook target (on a closed port): every conditional family shows.
    server = await start_pusherd(
        adapter="redis",
        redis_url=Secret(REDIS_URL),
        redis_prefix=prefix,
        laravel_redis_prefix=None,
        webhooks=(WebhookTarget("http://127.0.0.1:9/hook"),),
    )
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    names = _names(response.text)
    poller = PollerMetrics()
    # Labelled families export no sample until a label set is used: use one of each.
    poller.upstream_calls.labels(sport="football", endpoint="live", outcome="ok").inc()
    poller.quota_remaining.labels(sport="football", window="day").set(1)
    poller.polls.labels(sport="football", kind="live").inc()
    poller.changes.labels(sport="football", event="score").inc()
    poller.items_dropped.labels(sport="football", reason="malformed").inc()
    poller.publish_latency.labels(sport="football").observe(0.01)
    poller.publish_failures.labels(sport="football").inc()
    poller.feed_stale.labels(sport="football").set(0)
    poller.circuit_state.labels(sport="football").set(0)
    names |= _names(generate_latest(poller.registry).decode())
    yield names
    client = aioredis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def test_promtool_accepts_the_alert_rules() -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerts_cover_what_an_operator_must_hear_about() -> None:
    used = _used(_alert_exprs())
    for name in (
        "poller_upstream_quota_remaining",  # quota projected to run out
        "poller_circuit_state",  # breaker open
        "poller_feed_stale",  # stale live data
        "pusherd_webhooks_given_up_total",  # webhook failures
        "pusherd_slow_consumers_dropped_total",
        "pusherd_event_loop_lag_seconds",
    ):
        assert name in used, name
    assert "predict_linear(poller_upstream_quota_remaining" in "".join(_alert_exprs())


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    document = _dashboard()
    assert document["uid"] == "pusherd-overview" and document["title"]
    assert isinstance(document["schemaVersion"], int)
    variables = {v["name"]: v for v in document["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in document["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"panel {panel['title']!r} overlaps another"
                cells.add((x, y))
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])


async def test_every_metric_in_the_dashboard_and_alerts_is_exported(
    exported: set[str],
) -> None:
    assert "pusherd_connections" in exported and "poller_circuit_state" in exported
    used = _used(_dashboard_exprs()) | _used(_alert_exprs())
    unknown = used - exported - PROMETHEUS_OWN
    assert not unknown, f"not exported by pusherd or the poller: {sorted(unknown)}"
    # Every family the code exports appears on the dashboard (labels aside).
    families = {_SUFFIX.sub("", name) for name in exported}
    shown = {_SUFFIX.sub("", name) for name in _used(_dashboard_exprs())}
    missing = families - shown
    assert not missing, f"exported but not on the dashboard: {sorted(missing)}"


def test_the_metric_name_pattern_sees_through_promql() -> None:
    assert _used(['sum by (le) (rate(poller_publish_latency_seconds_bucket{sport="x"}[5m]))']) == {
        "poller_publish_latency_seconds_bucket"
    }
    assert _used(['up{job="pusherd"} == 0', "pusherd_webhooks_pending > 1000"]) == {
        "up",
        "pusherd_webhooks_pending",
    }
