"""A deterministic match feed for the browser test, published through pusherd's signed HTTP API.

The poller's path (routing → publish) is tested elsewhere; here the page must see a score change
within seconds whatever the simulator's pace, so the test publishes its own matches, with the
payloads and channels of ``event-schema.md`` field for field (compact on public channels, rich on
``private-``/``presence-`` match channels; ``match.update`` on the ``cache-`` forms too). Match
ids start at 880001, apart from the simulator's (99xxxx).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pusher

__all__ = ["FeedMatch", "MatchFeed"]


def _iso_z(unix_s: float) -> str:
    return datetime.fromtimestamp(int(unix_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FeedMatch:
    match_id: int
    sport: str
    league: str
    league_name: str
    home: tuple[int, str]
    away: tuple[int, str]
    minute: int = 1
    home_score: int = 0
    away_score: int = 0
    period: str = "1st Half"
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def match_channel(self) -> str:
        return f"sports.{self.sport}.leagues.{self.league}.matches.{self.match_id}"

    def public_channels(self) -> list[str]:
        sport = f"sports.{self.sport}"
        plain = [sport, f"{sport}.leagues.{self.league}", self.match_channel]
        return plain + [f"cache-{name}" for name in plain]

    def rich_channels(self) -> list[str]:
        base = self.match_channel
        return [
            f"private-{base}",
            f"presence-{base}",
            f"private-cache-{base}",
            f"presence-cache-{base}",
        ]

    def update_payload(self, now: float) -> dict[str, Any]:
        """``match.update`` (event schema), compact form."""
        return {
            "match_id": self.match_id,
            "sport_id": self.sport,
            "league_id": self.league,
            "status": "live",
            "home_team": {"id": self.home[0], "name": self.home[1], "score": self.home_score},
            "away_team": {"id": self.away[0], "name": self.away[1], "score": self.away_score},
            "period": self.period,
            "time": f"{self.minute}:00",
            "last_updated": _iso_z(now),
        }

    def rich_update_payload(self, now: float) -> dict[str, Any]:
        """The compact keys plus the rich tier's extras (the event list so far)."""
        return self.update_payload(now) | {
            "status_short": "1H" if self.minute <= 45 else "2H",
            "elapsed": self.minute,
            "league_name": self.league_name,
            "events": list(self.events),
        }

    def score(self, now: float, *, home: bool, player: str) -> tuple[dict[str, Any], ...]:
        """A goal: returns the compact and rich ``match.event`` payloads."""
        if home:
            self.home_score += 1
        else:
            self.away_score += 1
        team_id = (self.home if home else self.away)[0]
        event_id = self.match_id * 1000 + len(self.events) + 1
        time_text = f"{self.minute}:00"
        row = {
            "event_id": event_id,
            "event_type": "goal",
            "team_id": team_id,
            "player_name": player,
            "assist_name": None,
            "time": time_text,
            "detail": "Normal Goal",
            "comments": None,
            "description": "Goal",
        }
        self.events.append(row)
        compact = {
            "match_id": self.match_id,
            "event_id": event_id,
            "event_type": "goal",
            "team_id": team_id,
            "player_name": player,
            "time": time_text,
            "description": "Goal",
            "home_score": self.home_score,
            "away_score": self.away_score,
            "timestamp": _iso_z(now),
        }
        rich = compact | {
            "assist_name": None,
            "detail": "Normal Goal",
            "comments": None,
            "player_id": None,
            "status_short": "1H" if self.minute <= 45 else "2H",
            "elapsed": self.minute,
        }
        return compact, rich


def demo_matches() -> tuple[FeedMatch, FeedMatch, FeedMatch, list[FeedMatch]]:
    """(the match that scores, a match published once, the match published after it in the same
    sport, matches whose clock only runs)."""
    scoring = FeedMatch(
        880001,
        "football",
        "e2e-premier",
        "E2E Premier",
        (88101, "Ashford Rovers"),
        (88102, "Bramley Town"),
    )
    once = FeedMatch(
        880101,
        "basketball",
        "e2e-hoops",
        "E2E Hoops",
        (88201, "Calder Comets"),
        (88202, "Dunmere Tide"),
        minute=12,
        home_score=48,
        away_score=51,
        period="Q2",
    )
    after_once = FeedMatch(
        880102,
        "basketball",
        "e2e-hoops",
        "E2E Hoops",
        (88203, "Easton Hawks"),
        (88204, "Fulmer Kings"),
        minute=3,
        home_score=9,
        away_score=7,
        period="Q1",
    )
    ticking = [
        FeedMatch(
            880002,
            "football",
            "e2e-cup",
            "E2E Cup",
            (88103, "Elmstead"),
            (88104, "Farrow City"),
            minute=50,
            home_score=1,
            away_score=1,
            period="2nd Half",
        ),
        FeedMatch(
            880201,
            "baseball",
            "e2e-league",
            "E2E League",
            (88301, "Gorse Pilots"),
            (88302, "Hallam Owls"),
            minute=5,
            home_score=2,
            away_score=0,
            period="Inning 5",
        ),
    ]
    return scoring, once, after_once, ticking


class MatchFeed:
    """Publishes :func:`demo_matches` from a thread: ``start()`` at once, a tick every
    ``tick_s`` (clocks advance), a goal every ``goal_every`` ticks; ``stop()`` joins it."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        app_id: str,
        key: str,
        secret: str,
        tick_s: float = 0.5,
        goal_every: int = 3,
    ) -> None:
        self._client = pusher.Pusher(
            app_id=app_id, key=key, secret=secret, host=host, port=port, ssl=False, timeout=5
        )
        self._tick_s = tick_s
        self._goal_every = goal_every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="match-feed", daemon=True)
        self.scoring, self.once, self.after_once, self.ticking = demo_matches()
        self._lock = threading.Lock()  # one SDK client, two threads
        self.published = 0
        self.error: BaseException | None = None

    @property
    def match_ids(self) -> list[int]:
        matches = (self.scoring, self.once, self.after_once, *self.ticking)
        return [match.match_id for match in matches]

    def _trigger(self, channels: list[str], event: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._client.trigger(channels, event, data)
            self.published += 1

    def _publish_update(self, match: FeedMatch, now: float) -> None:
        self._trigger(match.public_channels(), "match.update", match.update_payload(now))
        self._trigger(match.rich_channels(), "match.update", match.rich_update_payload(now))

    def publish_once(self) -> None:
        """The once-only match, then another of its sport: the sport's cache no longer holds it,
        its own match channel's cache does."""
        now = time.time()
        self._publish_update(self.once, now)
        self._publish_update(self.after_once, now)

    def _tick(self, n: int) -> None:
        now = time.time()
        goal: tuple[dict[str, Any], ...] = ()
        if n % self._goal_every == 0:
            home = (n // self._goal_every) % 2 == 1
            goal = self.scoring.score(now, home=home, player="A. Marsh" if home else "K. Sato")
        for match in (self.scoring, *self.ticking):
            match.minute += 1
        # Order as the poller's: the update, then the event.
        for match in (self.scoring, *self.ticking):
            self._publish_update(match, now)
        if goal:
            compact, rich = goal
            base = self.scoring.match_channel
            self._trigger([base], "match.event", compact)
            self._trigger([f"private-{base}", f"presence-{base}"], "match.event", rich)

    def _run(self) -> None:
        n = 0
        try:
            while not self._stopping.wait(self._tick_s):
                n += 1
                self._tick(n)
        except BaseException as exc:  # reported by stop(); the thread must not die silently
            self.error = exc

    def start(self) -> None:
        """Publish the ticking matches' state (synchronously), then tick in the thread."""
        now = time.time()
        for match in (*self.ticking, self.scoring):
            self._publish_update(match, now)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and close the SDK's HTTP sessions.

        Raises:
            RuntimeError: the feed failed while the test ran (its cause chained).
        """
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._client._pusher_client.http.session.close()
        self._client._authentication_client.http.session.close()
        if self.error is not None:
            raise RuntimeError(f"the match feed failed: {self.error!r}") from self.error
