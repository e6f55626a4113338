"""``python -m auth usage [--key ID] [--days 7]``: the API usage table, from the SQL roll-ups.

The command is the auth CLI's (operators manage keys there), but the numbers live in the data
API's store, so it lives here and ``auth.__main__`` only hands ``usage …`` over (auth never
imports the data API otherwise). The store is ``DATABASE_URL`` (shared with the auth service)
or the data API's own SQLite file, as pusherd uses it. Figures are as of the last hourly
roll-up (or the server's last clean stop).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from dataapi.store import DEFAULT_DATABASE_URL, open_match_engine
from dataapi.usage_sql import format_usage, usage_rows

__all__ = ["parse_args", "run"]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m auth usage", description="API usage per key and day"
    )
    parser.add_argument("--key", default=None, help="only this key id")
    parser.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    args = parser.parse_args(list(argv))
    if not 1 <= args.days <= 3660:
        parser.error("--days must be between 1 and 3660")
    return args


def run(
    argv: Sequence[str], environ: Mapping[str, str], out: TextIO, *, now_s: float | None = None
) -> int:
    """Print the table; returns the exit status (1 when the store cannot be read)."""
    args = parse_args(argv)
    url = environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    try:
        with open_match_engine(url) as engine:
            rows = usage_rows(
                engine,
                now_s=time.time() if now_s is None else now_s,
                days=args.days,
                key_id=args.key,
            )
    except SQLAlchemyError as exc:
        sys.stderr.write(f"error: the usage store cannot be read ({type(exc).__name__})\n")
        return 1
    out.write(format_usage(rows))
    return 0
