from __future__ import annotations

import pytest

from poller.model import StatusBucket as S
from poller.normalize.status import classify_status


@pytest.mark.parametrize(
    ("sport", "short", "bucket", "period"),
    [
        ("football", "NS", S.SCHEDULED, None),
        ("football", "TBD", S.SCHEDULED, None),
        ("football", "1H", S.LIVE, "1st Half"),
        ("football", "HT", S.BREAK, "Half Time"),
        ("football", "2H", S.LIVE, "2nd Half"),
        ("football", "ET", S.LIVE, "Extra Time"),
        ("football", "BT", S.BREAK, "Break Time"),
        ("football", "P", S.LIVE, "Penalties"),
        ("football", "LIVE", S.LIVE, None),
        ("football", "SUSP", S.SUSPENDED, "Suspended"),
        ("football", "INT", S.SUSPENDED, "Interrupted"),
        ("football", "FT", S.FINISHED, "Full Time"),
        ("football", "AET", S.FINISHED, "After Extra Time"),
        ("football", "PEN", S.FINISHED, "After Penalties"),
        ("football", "PST", S.POSTPONED, None),
        ("football", "CANC", S.CANCELLED, None),
        ("football", "ABD", S.CANCELLED, "Abandoned"),
        ("football", "AWD", S.FINISHED, "Awarded"),
        ("football", "WO", S.FINISHED, "Walkover"),
        ("basketball", "Q3", S.LIVE, "Quarter 3"),
        ("basketball", "OT", S.LIVE, "Overtime"),
        ("basketball", "HT", S.BREAK, "Half Time"),
        ("basketball", "AOT", S.FINISHED, "After Overtime"),
        ("basketball", "POST", S.POSTPONED, None),
        ("baseball", "IN1", S.LIVE, "Inning 1"),
        ("baseball", "IN9", S.LIVE, "Inning 9"),
        ("baseball", "INTR", S.SUSPENDED, "Interrupted"),
        ("hockey", "P2", S.LIVE, "Period 2"),
        ("volleyball", "S5", S.LIVE, "Set 5"),
    ],
)
def test_status_short_maps_to_one_bucket_table(
    sport: str, short: str, bucket: S, period: str | None
) -> None:
    info = classify_status(sport, short)
    assert (info.bucket, info.period) == (bucket, period)


@pytest.mark.parametrize(
    ("sport", "short"),
    [
        ("football", "XYZ"),
        ("football", ""),
        ("football", None),
        ("football", "Q1"),
        ("basketball", "1H"),
        ("curling", "1H"),
    ],
)
def test_unknown_codes_map_to_unknown_and_never_raise(sport: str, short: str | None) -> None:
    assert classify_status(sport, short).bucket is S.UNKNOWN
