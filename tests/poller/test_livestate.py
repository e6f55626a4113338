from __future__ import annotations

import pytest

from poller.livestate import live_facts
from tests.poller.factories import football

KO = 1_791_036_000
DAY_END = KO + 10 * 3600


def test_overlapping_matches_count_their_live_time_once() -> None:
    live = [football(match_id=i, short="1H", elapsed=10) for i in range(10)]
    facts = live_facts(live, now=KO + 600, day_end=DAY_END, match_length_s=7200)
    assert facts.live_count == 10 and facts.expected_live_s == pytest.approx(6600)


def test_next_kickoff_and_closing_minutes() -> None:
    later = football(match_id=1, short="NS", score=(None, None), elapsed=None)
    closing = football(match_id=2, short="2H", elapsed=85)
    facts = live_facts([later, closing], now=KO - 300, day_end=DAY_END, match_length_s=7200)
    assert facts.next_kickoff == KO and facts.is_closing and facts.live_count == 1


def test_finished_matches_do_not_count() -> None:
    facts = live_facts(
        [football(short="FT", elapsed=90)], now=KO + 9000, day_end=DAY_END, match_length_s=7200
    )
    assert (facts.live_count, facts.expected_live_s, facts.next_kickoff) == (0, 0.0, None)
