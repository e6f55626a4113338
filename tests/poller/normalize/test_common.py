from __future__ import annotations

from typing import Any

import pytest

from poller.normalize.common import MAX_UNIX_S, NormalizeError, as_int, as_unix_s


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        (" -3 ", -3),
        (7, 7),
        ("²", None),  # "²".isdigit() is True, int("²") raises
        ("٣", None),  # Arabic-Indic three: a digit to str.isdigit, not to us
        ("1" * 19, None),  # past int64, and a step towards int()'s 4,300-digit limit
        ("1e3", None),
        ("", None),
        (True, None),
        (1.5, None),
        (None, None),
    ],
)
def test_numbers_in_strings_are_ascii_digits_only(raw: Any, expected: int | None) -> None:
    assert as_int(raw) == expected


@pytest.mark.parametrize("raw", [10**13, -1, MAX_UNIX_S + 1, str(10**13)])
def test_a_kickoff_outside_what_a_date_can_hold_is_a_typed_drop(raw: Any) -> None:
    with pytest.raises(NormalizeError) as caught:
        as_unix_s(raw, "timestamp")
    assert caught.value.reason == "timestamp"


def test_a_missing_or_plausible_kickoff_is_kept() -> None:
    assert as_unix_s(None, "timestamp") is None
    assert as_unix_s(1_791_036_000, "timestamp") == 1_791_036_000
