from __future__ import annotations

import pytest

from auth.tiers import Tier, TierTable, default_tiers
from pusherd.protocol.channels import ChannelKind


def test_default_tiers_are_ordered_free_pro_enterprise() -> None:
    tiers = default_tiers()
    assert tiers.names == ("free", "pro", "enterprise")
    assert [tier.name for tier in tiers] == ["free", "pro", "enterprise"]


def test_free_is_public_only_and_presence_is_enterprise_only() -> None:
    tiers = default_tiers()
    free, pro, enterprise = (tiers.get(name) for name in tiers.names)
    assert free is not None and pro is not None and enterprise is not None
    assert free.channel_kinds == frozenset({ChannelKind.PUBLIC})
    assert pro.may_join(ChannelKind.PRIVATE) and not pro.may_join(ChannelKind.PRESENCE)
    assert enterprise.may_join(ChannelKind.PRESENCE)
    assert free.max_connections < pro.max_connections < enterprise.max_connections
    assert free.rest_requests_per_minute < enterprise.rest_requests_per_minute


def test_meets_ranks_by_order_and_refuses_unknown_names() -> None:
    tiers = default_tiers()
    assert tiers.meets("enterprise", "pro")
    assert tiers.meets("pro", "pro")
    assert not tiers.meets("free", "pro")
    assert not tiers.meets("gold", "free")
    assert not tiers.meets("pro", "gold")
    assert tiers.get("gold") is None


def test_a_table_needs_unique_names_and_at_least_one_tier() -> None:
    tier = Tier("t", frozenset(), max_connections=1, rest_requests_per_minute=1)
    with pytest.raises(ValueError, match="at least one"):
        TierTable(())
    with pytest.raises(ValueError, match="unique"):
        TierTable((tier, tier))
