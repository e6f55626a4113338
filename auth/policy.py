"""Who may join what: tiers plus channel rules, and the TOML table they are configured from.

The decision order gives the most useful refusal first: a malformed name is 422 (the client is
broken); a public or ``#server-to-user-`` channel, a name no rule lists, a tier below the rule's
or a tier without that channel kind is 403 with a reason saying which. Example configuration
(``AUTH_POLICY_FILE``)::

    [[tiers]]
    name = "free"
    channel_kinds = ["public"]
    max_connections = 2
    rest_requests_per_minute = 60
    data_api = { resources = ["reference", "live", "matches"], history_days = 7 }

    [[channels]]
    pattern = "presence-sports.{sport}.leagues.{league}.matches.{match}"
    tier = "enterprise"
    user_info = ["id", "name"]
    where = { match = "[0-9]+" }
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auth.errors import Forbidden, Unprocessable
from auth.keys import ApiKey
from auth.rules import ChannelRule, RuleTable
from auth.tiers import DATA_API_RESOURCES, DataApiAccess, Tier, TierTable, default_tiers
from pusherd.protocol.channels import ChannelKind, classify_channel

__all__ = ["ChannelGrant", "Policy", "default_policy", "load_policy", "user_info_for"]

_KIND_NAMES = {kind.value: kind for kind in ChannelKind if kind is not ChannelKind.SERVER_TO_USER}


@dataclass(frozen=True, slots=True)
class ChannelGrant:
    """A yes: the channel's kind, the tier that allowed it and the presence fields to show."""

    kind: ChannelKind
    tier: Tier
    user_info: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    tiers: TierTable
    rules: RuleTable
    #: Least tier allowed to sign in (``/broadcasting/user-auth``) and what it shows.
    signin_tier: str
    signin_user_info: tuple[str, ...] = ("id", "name")

    def tier_of(self, key: ApiKey) -> Tier:
        tier = self.tiers.get(key.tier)
        if tier is None:
            raise Forbidden("unknown_tier", f"tier {key.tier!r} is not configured")
        return tier

    def authorize_channel(self, channel_name: str, key: ApiKey) -> ChannelGrant:
        """The grant for ``key`` on ``channel_name``.

        Raises:
            Unprocessable: not a valid channel name (§4.1).
            Forbidden: public or user channel, no rule, tier too low, kind not in the tier.
        """
        channel_type = classify_channel(channel_name)
        if channel_type is None:
            raise Unprocessable("invalid_channel_name", "channel_name is not a valid channel name")
        kind = channel_type.kind
        if kind is ChannelKind.PUBLIC:
            raise Forbidden("public_channel", "public channels are joined without authorization")
        if kind is ChannelKind.SERVER_TO_USER:
            raise Forbidden(
                "user_channel", "#server-to-user- channels follow /broadcasting/user-auth signin"
            )
        found = self.rules.match(channel_name)
        if found is None:
            raise Forbidden("no_rule", "no channel rule names this channel")
        tier = self.tier_of(key)
        if not self.tiers.meets(tier.name, found.rule.tier):
            raise Forbidden("tier_too_low", f"this channel needs tier {found.rule.tier!r} or above")
        if not tier.may_join(kind):
            raise Forbidden(
                "kind_not_in_tier", f"tier {tier.name!r} may not join {kind.value} channels"
            )
        return ChannelGrant(kind=kind, tier=tier, user_info=found.rule.user_info)

    def authorize_signin(self, key: ApiKey) -> Tier:
        tier = self.tier_of(key)
        if not self.tiers.meets(tier.name, self.signin_tier):
            raise Forbidden("tier_too_low", f"signin needs tier {self.signin_tier!r} or above")
        return tier


def user_info_for(key: ApiKey, fields: tuple[str, ...]) -> dict[str, str]:
    """The presence ``user_info`` (§6.1) of a key holder: only the chosen public fields."""
    available = {"id": key.user_id, "name": key.name, "tier": key.tier}
    return {name: available[name] for name in fields}


_MATCH = "sports.{sport}.leagues.{league}.matches.{match}"


def default_policy() -> Policy:
    """Event-schema defaults: private match channels for pro, presence for enterprise."""
    return Policy(
        tiers=default_tiers(),
        rules=RuleTable(
            (
                ChannelRule(f"private-{_MATCH}", tier="pro"),
                ChannelRule(f"private-encrypted-{_MATCH}", tier="pro"),
                ChannelRule(f"presence-{_MATCH}", tier="enterprise", user_info=("id", "name")),
            )
        ),
        signin_tier="free",
    )


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where} must be a list of strings, got {value!r}")
    return tuple(value)


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where} must be a non-negative integer, got {value!r}")
    return value


def _load_data_api(raw: Any, where: str) -> DataApiAccess:
    """``data_api = { resources = [...], history_days = N }``; omitted: the free defaults."""
    if raw is None:
        return DataApiAccess()
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a table")
    resources = _str_list(raw.get("resources", []), f"{where}.resources")
    unknown = sorted(set(resources) - set(DATA_API_RESOURCES))
    if unknown:
        raise ValueError(f"{where}.resources: unknown {unknown}, known {list(DATA_API_RESOURCES)}")
    days = raw.get("history_days")
    return DataApiAccess(
        resources=frozenset(resources),
        history_days=None if days is None else _int(days, f"{where}.history_days"),
    )


def _load_tier(raw: Mapping[str, Any], index: int) -> Tier:
    where = f"tiers[{index}]"
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}.name must be a non-empty string")
    kinds = _str_list(raw.get("channel_kinds", ["public"]), f"{where}.channel_kinds")
    unknown = [kind for kind in kinds if kind not in _KIND_NAMES]
    if unknown:
        raise ValueError(f"{where}.channel_kinds: unknown kinds {unknown}")
    return Tier(
        name=name,
        channel_kinds=frozenset(_KIND_NAMES[kind] for kind in kinds),
        max_connections=_int(raw.get("max_connections"), f"{where}.max_connections"),
        rest_requests_per_minute=_int(
            raw.get("rest_requests_per_minute"), f"{where}.rest_requests_per_minute"
        ),
        data_api=_load_data_api(raw.get("data_api"), f"{where}.data_api"),
    )


def _load_rule(raw: Mapping[str, Any], index: int, tiers: TierTable) -> ChannelRule:
    where = f"channels[{index}]"
    pattern, tier = raw.get("pattern"), raw.get("tier")
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"{where}.pattern must be a non-empty string")
    if not isinstance(tier, str) or tiers.get(tier) is None:
        raise ValueError(f"{where}.tier must name a configured tier, got {tier!r}")
    constraints = raw.get("where", {})
    if not isinstance(constraints, Mapping) or not all(
        isinstance(v, str) for v in constraints.values()
    ):
        raise ValueError(f"{where}.where must map placeholders to regular expressions")
    return ChannelRule(
        pattern=pattern,
        tier=tier,
        user_info=_str_list(raw.get("user_info", ["id", "name"]), f"{where}.user_info"),
        where=tuple(sorted(constraints.items())),
    )


def load_policy(data: Mapping[str, Any]) -> Policy:
    """A policy from parsed TOML/JSON; missing sections fall back to :func:`default_policy`.

    Raises:
        ValueError: naming the entry and the value that is wrong.
    """
    default = default_policy()
    raw_tiers = data.get("tiers")
    tiers = default.tiers
    if raw_tiers is not None:
        if not isinstance(raw_tiers, list):
            raise ValueError("tiers must be an array of tables")
        tiers = TierTable(_load_tier(raw, i) for i, raw in enumerate(raw_tiers))
    raw_rules = data.get("channels")
    rules = default.rules
    if raw_rules is not None:
        if not isinstance(raw_rules, list):
            raise ValueError("channels must be an array of tables")
        rules = RuleTable(_load_rule(raw, i, tiers) for i, raw in enumerate(raw_rules))
    elif raw_tiers is not None:
        for rule in rules.rules:
            if tiers.get(rule.tier) is None:
                raise ValueError(f"default rule {rule.pattern!r} needs tier {rule.tier!r}")
    signin = data.get("signin", {})
    if not isinstance(signin, Mapping):
        raise ValueError("signin must be a table")
    signin_tier = signin.get("tier", tiers.names[0])
    if tiers.get(signin_tier) is None:
        raise ValueError(f"signin.tier must name a configured tier, got {signin_tier!r}")
    signin_fields = _str_list(signin.get("user_info", ["id", "name"]), "signin.user_info")
    return Policy(tiers=tiers, rules=rules, signin_tier=signin_tier, signin_user_info=signin_fields)
