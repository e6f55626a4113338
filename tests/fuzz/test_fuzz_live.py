"""Bounded black-box fuzzing of a live ``python -m pusherd --no-poller`` (issue 10).

Two seeded runs of :mod:`bench.fuzz`, each against its own server process, so an error in one
server's log is attributed to one surface: mutated HTTP requests (signed and not, bad queries,
bodies, chunked framing, junk heads), and mutated WebSocket frames after a real upgrade (bad
masks, lengths, opcodes, fragments, close codes, junk JSON, huge names, mutated upgrade
queries). A control client (``websockets`` + the ``pusher`` SDK) must keep receiving its
events throughout. The long run is ``python -m bench.fuzz --frames 1000000``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import pytest

from bench.fuzz import FuzzReport, fuzz
from bench.liveserver import server_process

SEED = 20261202
#: Sized to take about 5 s each on an idle 2-core machine (12,000 frames/s, 600 requests/s),
#: well inside the 60 s guard under CI load.
WS_FRAMES = 60_000
HTTP_REQUESTS = 2_000
MIB = 1024 * 1024
#: Extra resident memory a run may add (huge channel names, buffered frames, caches).
RSS_BOUND_BYTES = 256 * MIB
#: Close-code oracles and log lines fixed on the ``wsproto`` branch (issue 10 items 1, 2, 12).


def _run(**kwargs: int) -> FuzzReport:
    with server_process(sys.executable) as server:
        # An answer (or a due close frame) later than 3 s is a finding: the loop stalled.
        return asyncio.run(fuzz(server, max_seconds=60, wait_s=3.0, **kwargs))


@pytest.fixture(scope="module")
def http_report() -> Iterator[FuzzReport]:
    yield _run(frames=0, http_requests=HTTP_REQUESTS, seed=SEED)


@pytest.fixture(scope="module")
def ws_report() -> Iterator[FuzzReport]:
    yield _run(frames=WS_FRAMES, http_requests=0, seed=SEED + 1)


def _findings(report: FuzzReport, *prefixes: str) -> dict[str, str]:
    return {kind: report.examples[kind] for kind in report.findings if kind.startswith(prefixes)}


def test_http_fuzz_gets_no_5xx_and_an_answer_to_every_complete_request(
    http_report: FuzzReport,
) -> None:
    assert http_report.http_requests >= HTTP_REQUESTS
    assert not dict(http_report.findings), http_report.examples


def test_http_fuzz_leaves_no_error_in_the_server_log(http_report: FuzzReport) -> None:
    assert not http_report.log_errors, "\n".join(http_report.log_errors[:20])


@pytest.mark.parametrize("report_name", ["http_report", "ws_report"])
def test_control_client_keeps_working_and_rss_stays_bounded(
    report_name: str, request: pytest.FixtureRequest
) -> None:
    report: FuzzReport = request.getfixturevalue(report_name)
    assert report.control_events >= 2
    assert report.control_failures == 0, report.examples.get("control-failed")
    assert report.peak_rss_bytes - report.baseline_rss_bytes < RSS_BOUND_BYTES


def test_ws_fuzz_gets_no_5xx_internal_error_or_dropped_connection(ws_report: FuzzReport) -> None:
    assert ws_report.frames >= WS_FRAMES
    bad = _findings(ws_report, "ws-handshake-5", "internal-error", "close-1011", "dropped-")
    assert not bad


def test_ws_fuzz_close_codes_follow_rfc6455_and_the_pusher_protocol(
    ws_report: FuzzReport,
) -> None:
    assert not _findings(ws_report, "close-")


def test_ws_fuzz_leaves_no_error_in_the_server_log(ws_report: FuzzReport) -> None:
    assert not ws_report.log_errors, "\n".join(ws_report.log_errors[:20])
