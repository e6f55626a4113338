"""Declarative channel rules, in the spirit of Laravel's ``routes/channels.php``.

A rule is a channel-name pattern with ``{placeholders}``, the least tier it needs and, for
presence channels, which ``user_info`` fields members see. Patterns include the type prefix
(``private-…``, ``presence-…``, ``private-encrypted-…``). A ``cache-`` variant follows the rule
of its plain form (event-schema: "as the plain form"), so ``private-cache-sports.…`` is matched
as ``private-sports.…``. A channel no rule names is denied: the table is an allow list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "USER_INFO_FIELDS",
    "ChannelRule",
    "RuleMatch",
    "RuleTable",
    "canonical_channel_name",
]

#: What a presence member may show about a key holder; the key itself is never a choice.
USER_INFO_FIELDS = frozenset({"id", "name", "tier"})

#: A placeholder spans one dot-separated segment of the channel-name alphabet (§4.1).
_SEGMENT = r"[A-Za-z0-9_\-=@,;]+"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CACHE_FORMS = (
    ("private-encrypted-cache-", "private-encrypted-"),
    ("private-cache-", "private-"),
    ("presence-cache-", "presence-"),
)


def canonical_channel_name(channel_name: str) -> str:
    """The plain form a rule is written for: ``private-cache-x`` → ``private-x``."""
    for cache_prefix, plain_prefix in _CACHE_FORMS:
        if channel_name.startswith(cache_prefix):
            return plain_prefix + channel_name[len(cache_prefix) :]
    return channel_name


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """One row of the table.

    Args:
        pattern: e.g. ``presence-sports.{sport}.leagues.{league}.matches.{match}``.
        tier: the least tier allowed to join.
        user_info: presence fields shown to other members, from :data:`USER_INFO_FIELDS`.
        where: per-placeholder regular expressions, like Laravel's ``->where()``.
    """

    pattern: str
    tier: str
    user_info: tuple[str, ...] = ("id", "name")
    where: tuple[tuple[str, str], ...] = ()
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.user_info) - USER_INFO_FIELDS
        if unknown:
            raise ValueError(f"rule {self.pattern!r}: unknown user_info fields {sorted(unknown)}")
        object.__setattr__(self, "regex", _compile(self.pattern, dict(self.where)))


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule: ChannelRule
    params: Mapping[str, str]


def _compile(pattern: str, where: Mapping[str, str]) -> re.Pattern[str]:
    parts: list[str] = []
    names: set[str] = set()
    position = 0
    for placeholder in _PLACEHOLDER.finditer(pattern):
        name = placeholder.group(1)
        if name in names:
            raise ValueError(f"rule {pattern!r}: placeholder {{{name}}} appears twice")
        names.add(name)
        parts.append(re.escape(pattern[position : placeholder.start()]))
        parts.append(f"(?P<{name}>{where.get(name, _SEGMENT)})")
        position = placeholder.end()
    parts.append(re.escape(pattern[position:]))
    extra = set(where) - names
    if extra:
        raise ValueError(f"rule {pattern!r}: 'where' names no placeholder {sorted(extra)}")
    try:
        return re.compile("".join(parts))
    except re.error as exc:
        raise ValueError(f"rule {pattern!r}: bad 'where' expression: {exc}") from exc


class RuleTable:
    """The rules in configuration order; the first whose pattern matches wins."""

    __slots__ = ("_rules",)

    def __init__(self, rules: Iterable[ChannelRule]) -> None:
        self._rules = tuple(rules)

    @property
    def rules(self) -> tuple[ChannelRule, ...]:
        return self._rules

    def match(self, channel_name: str) -> RuleMatch | None:
        """The first rule naming ``channel_name`` (cache forms as their plain form), else None."""
        canonical = canonical_channel_name(channel_name)
        for rule in self._rules:
            found = rule.regex.fullmatch(canonical)
            if found is not None:
                return RuleMatch(rule=rule, params=found.groupdict())
        return None
