"""Side-by-side benchmark of pusherd against soketi (run with ``python -m bench.run``)."""

from __future__ import annotations
