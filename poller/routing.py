"""Changes → (channel, event, data) messages on the event-schema channels.

Public channels get the compact payloads; private and presence match channels get the rich ones.
Each payload is encoded with orjson once per tier and the same ``data`` string is shared by every
channel of that tier (house style rule 8). ``match.update`` also goes to the ``cache-`` form of
each channel so that a new subscriber sees the current score at once.

Channel set (event schema, "Channels"):

* ``sports.{sport}`` and ``sports.{sport}.leagues.{league}``: ``match.update``, ``match.status``
* ``sports.{sport}.leagues.{league}.matches.{match}`` and ``sports.{sport}.teams.{team}``:
  all three events
* ``private-`` / ``presence-`` forms of the match channel: all three, rich payloads
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from poller.catalogue import LeagueCatalogue
from poller.detect import Change, EventOccurred, MatchUpdated, StatusChanged
from poller.model import Match
from poller.payloads import (
    event_payload,
    fit_rich,
    rich_event_payload,
    rich_update_payload,
    status_payload,
    update_payload,
)

__all__ = ["Outbound", "RoutingOptions", "route"]

MATCH_UPDATE = "match.update"
MATCH_EVENT = "match.event"
MATCH_STATUS = "match.status"


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to publish: ``data`` is the JSON string Pusher carries (double encoding)."""

    channel: str
    event: str
    data: str


@dataclass(frozen=True, slots=True)
class RoutingOptions:
    has_cache_channels: bool = True
    has_team_channels: bool = True
    has_rich_channels: bool = True
    #: Under pusherd's 10 KB default limit with room for the frame around ``data``.
    max_rich_bytes: int = 9_500


@dataclass(frozen=True, slots=True)
class _Channels:
    wide: tuple[str, ...]  # sport and league
    match: tuple[str, ...]  # the match and its two teams
    rich: tuple[str, ...]  # private and presence match channels


def _channels(match: Match, league: str, options: RoutingOptions) -> _Channels:
    sport = f"sports.{match.sport}"
    league_channel = f"{sport}.leagues.{league}"
    match_channel = f"{league_channel}.matches.{match.match_id}"
    teams: tuple[str, ...] = ()
    if options.has_team_channels:
        teams = tuple(f"{sport}.teams.{team_id}" for team_id in match.team_ids)
    rich: tuple[str, ...] = ()
    if options.has_rich_channels:
        rich = (f"private-{match_channel}", f"presence-{match_channel}")
    return _Channels((sport, league_channel), (match_channel, *teams), rich)


def _cache_form(channel: str) -> str:
    for prefix in ("private-", "presence-"):
        if channel.startswith(prefix):
            return f"{prefix}cache-{channel[len(prefix) :]}"
    return f"cache-{channel}"


def _fan(event: str, channels: tuple[str, ...], data: str) -> list[Outbound]:
    return [Outbound(channel, event, data) for channel in channels]


def route(
    change: Change, *, catalogue: LeagueCatalogue, now: float, options: RoutingOptions
) -> list[Outbound]:
    """The messages one change produces, compact tier first."""
    match = change.match
    league = catalogue.slug(match.sport, match.league_id)
    channels = _channels(match, league, options)
    public = channels.wide + channels.match
    if isinstance(change, MatchUpdated):
        compact = orjson.dumps(update_payload(match, league, now)).decode()
        rich = ""
        if channels.rich:
            payload = rich_update_payload(match, change.previous, league, now)
            rich = fit_rich(payload, options.max_rich_bytes).decode()
        out = _fan(MATCH_UPDATE, public, compact) + _fan(MATCH_UPDATE, channels.rich, rich)
        if options.has_cache_channels:
            out += _fan(MATCH_UPDATE, tuple(_cache_form(c) for c in public), compact)
            out += _fan(MATCH_UPDATE, tuple(_cache_form(c) for c in channels.rich), rich)
        return out
    if isinstance(change, StatusChanged):
        data = orjson.dumps(status_payload(match, change.previous_status, now)).decode()
        return _fan(MATCH_STATUS, public + channels.rich, data)
    if isinstance(change, EventOccurred):
        compact = orjson.dumps(event_payload(match, change.event, now)).decode()
        out = _fan(MATCH_EVENT, channels.match, compact)
        if channels.rich:
            rich_payload = rich_event_payload(match, change.event, now)
            rich = fit_rich(rich_payload, options.max_rich_bytes).decode()
            out += _fan(MATCH_EVENT, channels.rich, rich)
        return out
    raise TypeError(f"not a change: {change!r}")
