from __future__ import annotations

from poller.model import StatusBucket
from poller.normalize.basketball import normalize_game
from tests.poller.conftest import sample


def test_games_sample_covers_q3_ht_aot_post_ns() -> None:
    games = [normalize_game(g) for g in sample("basketball-games-live.json")["response"]]
    by_id = {g.match_id: g for g in games}
    q3 = by_id[995003]
    assert q3.status is StatusBucket.LIVE and q3.period == "Quarter 3" and q3.clock == "6:00"
    assert q3.score == (50, 53) and q3.season == "2026-2027"
    assert by_id[995004].status is StatusBucket.BREAK and by_id[995004].clock is None
    aot = by_id[995002]
    assert aot.status is StatusBucket.FINISHED and aot.score == (88, 92) and aot.season == "2026"
    assert by_id[995005].status is StatusBucket.POSTPONED and by_id[995005].score == (None, None)
    assert by_id[995006].status is StatusBucket.SCHEDULED
    assert q3.details["scores"]["home"]["quarter_1"] == 24
