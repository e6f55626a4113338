"""One status-bucket table for every sport (upstream reference §4, §7.1–7.5; event schema).

Keyed on ``status.short`` only: the long text varies between captures. Sport-specific rows come
first, then the rows every API-Sports host shares. Unknown codes map to ``UNKNOWN`` and never
raise: the upstream says the list can grow, and detection keeps the last known state for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from poller.model import StatusBucket

__all__ = ["StatusInfo", "classify_status"]

S = StatusBucket


@dataclass(frozen=True, slots=True)
class StatusInfo:
    bucket: StatusBucket
    period: str | None


_COMMON: dict[str, StatusInfo] = {
    "TBD": StatusInfo(S.SCHEDULED, None),
    "NS": StatusInfo(S.SCHEDULED, None),
    "HT": StatusInfo(S.BREAK, "Half Time"),
    "BT": StatusInfo(S.BREAK, "Break Time"),
    "INT": StatusInfo(S.SUSPENDED, "Interrupted"),
    "INTR": StatusInfo(S.SUSPENDED, "Interrupted"),
    "SUSP": StatusInfo(S.SUSPENDED, "Suspended"),
    "FT": StatusInfo(S.FINISHED, "Full Time"),
    "AET": StatusInfo(S.FINISHED, "After Extra Time"),
    "PEN": StatusInfo(S.FINISHED, "After Penalties"),
    "AOT": StatusInfo(S.FINISHED, "After Overtime"),
    "AP": StatusInfo(S.FINISHED, "After Penalties"),
    # Technical results end the match as far as subscribers are concerned.
    "AWD": StatusInfo(S.FINISHED, "Awarded"),
    "WO": StatusInfo(S.FINISHED, "Walkover"),
    "AW": StatusInfo(S.FINISHED, "Awarded"),
    "PST": StatusInfo(S.POSTPONED, None),
    "POST": StatusInfo(S.POSTPONED, None),
    "CANC": StatusInfo(S.CANCELLED, None),
    # The schema has no "abandoned" bucket: an abandoned match is not going to finish as played.
    "ABD": StatusInfo(S.CANCELLED, "Abandoned"),
}

_BY_SPORT: dict[str, dict[str, StatusInfo]] = {
    "football": {
        "1H": StatusInfo(S.LIVE, "1st Half"),
        "2H": StatusInfo(S.LIVE, "2nd Half"),
        "ET": StatusInfo(S.LIVE, "Extra Time"),
        "P": StatusInfo(S.LIVE, "Penalties"),
        "LIVE": StatusInfo(S.LIVE, None),
    },
    "basketball": {
        **{f"Q{n}": StatusInfo(S.LIVE, f"Quarter {n}") for n in range(1, 5)},
        "OT": StatusInfo(S.LIVE, "Overtime"),
    },
    "baseball": {
        **{f"IN{n}": StatusInfo(S.LIVE, f"Inning {n}") for n in range(1, 10)},
        "IN": StatusInfo(S.LIVE, "Extra Innings"),  # 10th+ inning code unverified (§7.2)
    },
    "hockey": {
        **{f"P{n}": StatusInfo(S.LIVE, f"Period {n}") for n in range(1, 4)},
        "OT": StatusInfo(S.LIVE, "Overtime"),
        "PT": StatusInfo(S.LIVE, "Penalties"),
    },
    "volleyball": {f"S{n}": StatusInfo(S.LIVE, f"Set {n}") for n in range(1, 6)},
}

_UNKNOWN = StatusInfo(S.UNKNOWN, None)


def classify_status(sport: str, short: str | None) -> StatusInfo:
    """The bucket and period label of ``short`` on ``sport``'s host; ``UNKNOWN`` if unlisted."""
    if not short:
        return _UNKNOWN
    sport_table = _BY_SPORT.get(sport)
    if sport_table is not None and short in sport_table:
        return sport_table[short]
    return _COMMON.get(short, _UNKNOWN)
