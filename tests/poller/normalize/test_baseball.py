from __future__ import annotations

from poller.model import StatusBucket
from poller.normalize.baseball import half_inning, normalize_game
from tests.poller.conftest import sample


def test_games_sample_covers_ft_in5_ns() -> None:
    raw = sample("baseball-games.json")["response"]
    final, live, upcoming = (normalize_game(g) for g in raw)
    assert final.status is StatusBucket.FINISHED and final.score == (4, 2)
    assert live.status is StatusBucket.LIVE and live.elapsed == 5
    assert live.period == "Top of Inning 5" and live.clock is None and live.score == (2, 2)
    assert upcoming.status is StatusBucket.SCHEDULED and upcoming.score == (None, None)


def test_half_inning_inferred_from_filled_cells() -> None:
    scores = sample("baseball-games.json")["response"][1]["scores"]
    assert half_inning(scores, 4) == "bottom"
    assert half_inning(scores, 5) == "top"
    assert half_inning(scores, 6) is None
