"""The league catalogue: upstream league ids → the stable slugs used in channel names.

Data, not code (event schema, ``{league}``): the table lives in ``poller/leagues.json`` and can
be replaced by the operator's own file (read at the edge by :func:`poller.config.load_catalogue`;
this module only parses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

__all__ = ["LeagueCatalogue"]
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True, slots=True)
class LeagueCatalogue:
    slugs: Mapping[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes, source: str = "catalogue") -> LeagueCatalogue:
        """Parse catalogue JSON.

        Raises:
            ValueError: the data is not ``{sport: {league_id: slug}}`` with valid slugs.
        """
        raw = orjson.loads(data)
        if not isinstance(raw, dict):
            raise ValueError(f"{source}: expected an object")
        slugs: dict[tuple[str, int], str] = {}
        for sport, table in raw.items():
            if sport.startswith("_"):
                continue
            if not isinstance(table, dict):
                raise ValueError(f"{source}: {sport!r} must map league ids to slugs")
            for league_id, slug in table.items():
                if not str(league_id).isdigit() or not isinstance(slug, str):
                    raise ValueError(f"{source}: bad entry {sport}.{league_id}")
                if not _SLUG.fullmatch(slug):
                    raise ValueError(f"{source}: slug {slug!r} is not lower-case-hyphenated")
                slugs[(sport, int(league_id))] = slug
        return cls(slugs)

    def slug(self, sport: str, league_id: int) -> str:
        """The league's slug, else its numeric id as text."""
        return self.slugs.get((sport, league_id), str(league_id))
