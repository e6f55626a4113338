"""Subscription tiers: which channel kinds a key may join and the limits that come with it.

Tiers are ordered, cheapest first; a channel rule names the *least* tier it needs, and every
later tier qualifies too. A tier also lists the channel kinds it may join at all, so an operator
can, say, give ``pro`` private match channels but keep presence for ``enterprise``. The limits
are data for the other components: pusherd enforces ``max_connections`` (closing the socket with
4004 over quota, reference §3.1) and the data API (``/api/v1``) enforces
``rest_requests_per_minute`` and the tier's ``data_api`` access: which resources, how far back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pusherd.protocol.channels import ChannelKind

__all__ = ["DATA_API_RESOURCES", "DataApiAccess", "Tier", "TierTable", "default_tiers"]

#: What ``data_api.resources`` may name (the data API's resource groups).
DATA_API_RESOURCES = ("reference", "standings", "live", "matches", "teams")


@dataclass(frozen=True, slots=True)
class DataApiAccess:
    """A tier's reach in the data API: resource groups, and history depth (None: unbounded)."""

    resources: frozenset[str] = frozenset({"reference", "live", "matches"})
    history_days: int | None = 7


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    channel_kinds: frozenset[ChannelKind]
    max_connections: int
    rest_requests_per_minute: int
    data_api: DataApiAccess = DataApiAccess()

    def may_join(self, kind: ChannelKind) -> bool:
        return kind in self.channel_kinds


class TierTable:
    """The configured tiers in rank order, looked up by name."""

    __slots__ = ("_rank", "_tiers")

    def __init__(self, tiers: Iterable[Tier]) -> None:
        self._tiers = tuple(tiers)
        if not self._tiers:
            raise ValueError("at least one tier must be configured")
        self._rank = {tier.name: rank for rank, tier in enumerate(self._tiers)}
        if len(self._rank) != len(self._tiers):
            raise ValueError("tier names must be unique")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(tier.name for tier in self._tiers)

    def get(self, name: str) -> Tier | None:
        rank = self._rank.get(name)
        return None if rank is None else self._tiers[rank]

    def meets(self, name: str, required: str) -> bool:
        """Whether tier ``name`` ranks at or above ``required``; unknown names never do."""
        rank = self._rank.get(name)
        needed = self._rank.get(required)
        return rank is not None and needed is not None and rank >= needed

    def __iter__(self) -> Iterator[Tier]:
        return iter(self._tiers)


def default_tiers() -> TierTable:
    """free: public data only; pro: private match channels; enterprise: presence too."""
    public = ChannelKind.PUBLIC
    private = ChannelKind.PRIVATE
    encrypted = ChannelKind.ENCRYPTED
    presence = ChannelKind.PRESENCE
    return TierTable(
        (
            Tier("free", frozenset({public}), max_connections=2, rest_requests_per_minute=60),
            Tier(
                "pro",
                frozenset({public, private, encrypted}),
                max_connections=20,
                rest_requests_per_minute=600,
                data_api=DataApiAccess(frozenset(DATA_API_RESOURCES), history_days=90),
            ),
            Tier(
                "enterprise",
                frozenset({public, private, encrypted, presence}),
                max_connections=500,
                rest_requests_per_minute=6000,
                data_api=DataApiAccess(frozenset(DATA_API_RESOURCES), history_days=None),
            ),
        )
    )
