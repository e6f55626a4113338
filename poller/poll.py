"""One sport's polling loop, step by step: plan → provider → normalize → detect → route → publish.

:meth:`SportPoller.step` does the one thing that is due now and returns how long to wait before
the next step; the scheduler only calls it. Priorities: a batch not yet handed to pusherd, then
live matches, then final states of matches that just left the live feed (by ``ids``), then the
day's fixtures, then reference data on spare quota only (:mod:`poller.reference`). Every
upstream call passes the circuit breaker, the per-minute token bucket and the daily budget
first; failures back off with jitter. Stored state advances only once pusherd has the changes,
so nothing is lost to a publish failure or a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from poller.cache import cache_entries
from poller.demand import Demand, kickoffs
from poller.detect import Change, MatchState, detect
from poller.livestate import LiveFacts, live_facts
from poller.model import StatusBucket
from poller.normalize import NormalizeError, normalize_item, raw_is_live, raw_match_id
from poller.once import Once
from poller.orchestrator import KIND_PRIORITY, Gate, Priority
from poller.parts import PollerParts
from poller.plan import PlanInput, live_demand, plan_next
from poller.providers.base import (
    AuthRejected,
    Fetch,
    QuotaExhausted,
    RateLimited,
    Unavailable,
    UpstreamError,
)
from poller.publish import PublishError
from poller.reference import ReferenceRefresher
from poller.refplan import spare_calls
from poller.resilience import BreakerState
from poller.routing import Outbound, route

__all__ = ["SportPoller"]

logger = logging.getLogger("poller.poll")
FIXTURES_EVERY_S = 3 * 3600.0
PRUNE_AFTER_S = 36 * 3600.0
RATE_LIMITED_PAUSE_S = 15.0
#: Football and basketball clocks tick every minute; baseball innings can run 20 minutes.
STALE_AFTER_S = 25 * 60.0


@dataclass(frozen=True, slots=True)
class _Pending:
    """A poll's result waiting to be handed to pusherd (state advances only after that)."""

    kind: str
    polled_at: float
    messages: list[Outbound]
    states: list[MatchState]
    received_at: float
    fingerprints: dict[int, int]


def _day(unix_s: float) -> str:
    return datetime.fromtimestamp(int(unix_s), UTC).strftime("%Y-%m-%d")


class SportPoller:
    def __init__(self, sport: str, parts: PollerParts) -> None:
        self.sport = sport
        self.p = parts
        self.states: dict[int, MatchState] = {}
        self._live_ids: set[int] = set()
        #: Matches that left the live feed: (when to fetch by id next, fetches left).
        self._finishing: dict[int, tuple[float, int]] = {}
        self._pending: _Pending | None = None
        #: Hash of the raw item last processed per match: most polls repeat the upstream's
        #: 15-second snapshot byte for byte, and those need no normalising or diffing.
        self._raw_seen: dict[int, int] = {}
        now = parts.clock.time()
        self.next_live_at = now
        self.next_fixtures_at = now if sport == "football" else float("inf")
        self._failures = 0
        self._unknown_logged = Once()
        self._drop_logged = Once()
        self.is_stopped = False
        self.is_stale = False
        self._last_change_at = now
        self.reference: ReferenceRefresher | None = None
        if parts.cache is not None and parts.refresh is not None:
            self.reference = ReferenceRefresher(
                sport=sport, provider=parts.provider, cache=parts.cache, cadence=parts.refresh
            )
        self.demand = Demand(
            sport=sport,
            board=parts.on_demand,
            prestart_window_s=parts.cadence.prestart_window_s,
            fastest_live_s=min(parts.cadence.live_s, parts.cadence.closing_s),
            offsets=parts.prefetch_offsets_s,
        )
        #: When the upstream started failing the live poll (None: it answers).
        self._down_since: float | None = None

    async def load(self) -> None:
        """Resume from the last saved state (restart without re-sending or missing events)."""
        self.states = await self.p.snapshots.load(self.sport)
        self._live_ids = {i for i, s in self.states.items() if s.match.status.is_in_play}
        if self.reference is not None:
            self.reference.observe((s.match for s in self.states.values()), self.p.clock.time())

    async def step(self) -> float:
        """Run what is due; return seconds until the next step is worth running."""
        now = self.p.clock.time()
        if self._pending is not None:
            return await self._flush(now)
        if self.is_stopped:
            return 3600.0
        await self.demand.pull(now)
        self.demand.observe(self._kickoffs(now), now)
        kind = self._due(now)
        if kind is None:
            return self._wait(now)
        if not self.p.breaker.allow(now):
            self.p.metrics.set_circuit(self.sport, self.p.breaker.state)
            return max(0.5, self.p.breaker.retry_at() - now)
        if not self.p.bucket.try_take(now):
            return max(0.1, self.p.bucket.wait_s(now))
        self.p.metrics.set_circuit(self.sport, self.p.breaker.state)
        self.p.budget.spend(now)
        if self.p.costs is not None:
            self.p.costs.working_at(self.sport, self._priority(kind))
        try:
            fetch = await self._call(kind, now)
        except UpstreamError as exc:
            delay = self._failed(kind, exc, now)
            await self.demand.post_health(self._down_since)
            return delay
        if kind == "demand":
            found = (raw_match_id(self.sport, raw) for raw in fetch.items)
            await self.demand.fetched((i for i in found if i is not None), self._kickoffs(now), now)
        self._down_since = None
        await self.demand.post_health(self._down_since)
        self.p.breaker.record_success()
        self.p.metrics.set_circuit(self.sport, self.p.breaker.state)
        self.p.metrics.polls.labels(sport=self.sport, kind=kind).inc()
        self._observe_quota(fetch, now)
        if kind == "reference" and self.reference is not None:
            await self.reference.store(fetch, now)  # leaves the live backoff alone
            return self._wait(self.p.clock.time())
        self._failures = 0
        self._process(kind, fetch, now)
        return await self._flush(self.p.clock.time())

    async def close(self) -> None:
        """At shutdown: one last attempt to hand over a batch pusherd has not got yet."""
        if self._pending is not None:
            await self._flush(self.p.clock.time())

    # -- what is due -------------------------------------------------------------------------

    def _due(self, now: float) -> str | None:
        """Live > on-demand > prefetch > reference (:mod:`poller.orchestrator`)."""
        if now >= self.next_live_at and self.p.budget.usable(now) > 0:
            return "live"
        if self._final_due_at() <= now and self.p.budget.remaining(now) > 0:
            return "detail"  # may dip into the reserve: final scores matter most
        picked = self.demand.due(now, lambda made, cap: self._gate(now, made, cap))
        if picked is not None and picked.priority <= Priority.ON_DEMAND:
            return "demand"
        if now >= self.next_fixtures_at and self.p.budget.usable(now) > 0:
            return "fixtures"
        if picked is not None:
            return "demand"
        if self.reference is not None and now >= self.reference.next_at:
            plan_input, _ = self._plan_input(now)
            spare = spare_calls(
                self.reference.cadence,
                usable=self.p.budget.usable(now),
                live_demand=live_demand(self.p.cadence, plan_input),
            )
            request = self.reference.due(
                (s.match for s in self.states.values()),
                now=now,
                spare_calls=spare,
                next_live_in_s=self.next_live_at - now,
                # Keep a token for the live poll; a half-open breaker's probe is live work.
                can_call=self.p.breaker.state is BreakerState.CLOSED
                and self.p.bucket.tokens(now) >= 2,
            )
            if request is not None:
                return "reference"
        return None

    def _gate(self, now: float, made: int, cap: int) -> Gate:
        plan_input, _ = self._plan_input(now)
        return Gate(
            usable=self.p.budget.usable(now),
            live_demand=live_demand(self.p.cadence, plan_input),
            tokens=self.p.bucket.tokens(now),
            is_breaker_closed=self.p.breaker.state is BreakerState.CLOSED,
            next_live_in_s=self.next_live_at - now,
            made_this_hour=made,
            hourly_cap=cap,
        )

    def _kickoffs(self, now: float) -> dict[int, float]:
        return kickoffs((s.match for s in self.states.values()), now)

    def _priority(self, kind: str) -> Priority:
        if kind == "demand" and self.demand.picked is not None:
            return self.demand.picked.priority
        return KIND_PRIORITY.get(kind, Priority.REFERENCE)

    def _final_due_at(self) -> float:
        return min((due for due, _ in self._finishing.values()), default=float("inf"))

    def _wait(self, now: float) -> float:
        nxt = min(self.next_live_at, self._final_due_at(), self.next_fixtures_at)
        nxt = min(nxt, max(now, self.demand.next_at(self._kickoffs(now), now)))
        if self.reference is not None:
            nxt = min(nxt, max(now, self.reference.next_at))
        return max(0.0, nxt - now)

    async def _call(self, kind: str, now: float) -> Fetch:
        if kind == "reference" and self.reference is not None:
            return await self.reference.fetch()
        if kind == "demand" and self.demand.picked is not None:
            return await self.p.provider.by_ids(self.sport, self.demand.picked.ids)
        if kind == "detail":
            ids = sorted(i for i, (due, _) in self._finishing.items() if due <= now)
            return await self.p.provider.by_ids(self.sport, ids)
        if kind == "fixtures":
            return await self.p.provider.by_date(self.sport, _day(now))
        # A game that started before 00:00 UTC is on yesterday's list: poll that day too.
        days = {_day(now)}
        if self.sport != "football":
            days |= {
                _day(s.match.start_time) for s in self.states.values() if s.match.status.is_in_play
            }
        fetches = [await self.p.provider.live(self.sport, day=d) for d in sorted(days)]
        items = [item for f in fetches for item in f.items]
        return Fetch(items, fetches[-1].quota, fetches[-1].received_at)

    def _fingerprint(self, raw: object) -> tuple[int, int] | None:
        match_id = raw_match_id(self.sport, raw)
        if match_id is None:
            return None
        return match_id, hash(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS))

    # -- results -----------------------------------------------------------------------------

    def _observe_quota(self, fetch: Fetch, now: float) -> None:
        quota = fetch.quota
        self.p.budget.observe(remaining=quota.daily_remaining, limit=quota.daily_limit, now=now)
        self.demand.observe_quota(quota.minute_remaining, now)
        if quota.minute_remaining == 0:
            self.p.bucket.drain(now)

    def _process(self, kind: str, fetch: Fetch, now: float) -> None:
        messages: list[Outbound] = []
        new_states: list[MatchState] = []
        seen_live: set[int] = set()
        fingerprints: dict[int, int] = {}
        for raw in fetch.items:
            fingerprint = self._fingerprint(raw)
            if fingerprint is not None and self._raw_seen.get(fingerprint[0]) == fingerprint[1]:
                if raw_is_live(self.sport, raw):
                    seen_live.add(fingerprint[0])
                continue  # byte-identical to the last poll: nothing can have changed
            try:
                state, changes, outbound = self._take(raw, now)
            except Exception as exc:
                # One bad item costs that item only: the rest of the batch goes out (item 8).
                self._drop(raw, exc)
                continue
            if state.match.status.is_in_play:
                seen_live.add(state.match.match_id)
            if changes:
                self._last_change_at = now
                for change in changes:
                    name = type(change).__name__
                    self.p.metrics.changes.labels(sport=self.sport, event=name).inc()
                messages += outbound
            new_states.append(state)
            if fingerprint is not None:
                fingerprints[fingerprint[0]] = fingerprint[1]
        if kind == "detail":
            for match_id in [i for i, (due, _) in self._finishing.items() if due <= now]:
                _, looks_left = self._finishing.pop(match_id)
                # Late corrections: look once more after the grace period, then stop (§7.5).
                if looks_left > 1 and match_id not in seen_live:
                    self._finishing[match_id] = (now + self.p.finished_grace_s, looks_left - 1)
        if kind == "live" and self.sport == "football":
            for match_id in self._live_ids - seen_live:
                # Left live=all: fetch the final state by id (§3.1).
                self._finishing[match_id] = (now, 2)
            self._live_ids = seen_live
        self._pending = _Pending(kind, now, messages, new_states, fetch.received_at, fingerprints)

    def _take(self, raw: object, now: float) -> tuple[MatchState, list[Change], list[Outbound]]:
        """Normalise, diff and route one raw item: every step that can trip over upstream data,
        so that a failure in any of them is that item's alone."""
        match = normalize_item(self.sport, raw)
        if match.status is StatusBucket.UNKNOWN and self._unknown_logged.first(match.status_short):
            logger.warning(
                "%s: unknown status %r kept as last known", self.sport, match.status_short[:40]
            )
        changes, state = detect(self.states.get(match.match_id), match)
        options, catalogue = self.p.routing, self.p.catalogue
        outbound = [
            m for c in changes for m in route(c, catalogue=catalogue, now=now, options=options)
        ]
        return state, changes, outbound

    def _drop(self, raw: object, exc: Exception) -> None:
        """Count a skipped item; log it once per item id and reason, not once per poll."""
        reason = exc.reason if isinstance(exc, NormalizeError) else type(exc).__name__
        self.p.metrics.items_dropped.labels(sport=self.sport, reason=reason).inc()
        match_id = raw_match_id(self.sport, raw)
        if not self._drop_logged.first((match_id, reason)):
            return
        if isinstance(exc, NormalizeError):
            logger.warning("%s: dropping malformed item %s: %s", self.sport, match_id, exc)
        else:  # not a known kind of bad data: our bug, or one we have not seen yet
            logger.error(
                "%s: dropping item %s that broke the poll step", self.sport, match_id, exc_info=exc
            )

    def _schedule(self, kind: str, now: float) -> None:
        if kind == "fixtures":
            midnight = (now // 86_400 + 1) * 86_400 + 60
            self.next_fixtures_at = min(now + FIXTURES_EVERY_S, midnight)
            return
        if kind != "live":
            return
        plan_input, facts = self._plan_input(now)
        self._check_stale(facts.live_count, now)
        plan = plan_next(self.p.cadence, plan_input)
        self.next_live_at = now + plan.interval_s
        if plan.reason == "quota reserve reached":
            logger.warning(
                "%s: daily quota down to the reserve, pausing until the reset", self.sport
            )

    def _plan_input(self, now: float) -> tuple[PlanInput, LiveFacts]:
        facts = live_facts(
            (s.match for s in self.states.values()),
            now=now,
            day_end=now + self.p.budget.seconds_to_reset(now),
            match_length_s=self.p.cadence.match_length_s,
        )
        return PlanInput(
            now=now,
            live_count=facts.live_count,
            is_closing=facts.is_closing,
            next_kickoff=facts.next_kickoff,
            expected_live_s=facts.expected_live_s,
            usable_calls=self.p.budget.usable(now),
            seconds_to_reset=self.p.budget.seconds_to_reset(now),
        ), facts

    async def _prune(self, now: float) -> None:
        """Forget settled matches that kicked off over a day and a half ago."""
        stale = [
            i
            for i, s in self.states.items()
            if not s.match.status.is_in_play and s.match.start_time < now - PRUNE_AFTER_S
        ]
        for match_id in stale:
            del self.states[match_id]
            self._raw_seen.pop(match_id, None)
        if stale:
            try:
                await self.p.snapshots.drop(self.sport, stale)
            except Exception as exc:
                logger.warning("%s: snapshot prune failed: %s", self.sport, exc)

    async def _write_cache(self, pending: _Pending) -> None:
        """Refresh the data-API cache; live entries are rewritten each poll so they stay fresh."""
        if self.p.cache is None:
            return
        changed = {s.match.match_id for s in pending.states}
        matches = [s.match for s in self.states.values()]
        try:
            entries = cache_entries(
                self.sport,
                matches,
                changed,
                self.p.catalogue,
                now=pending.polled_at,
                is_live_poll=pending.kind == "live",
                is_fixtures_poll=pending.kind == "fixtures",
            )
            await self.p.cache.put_many(entries)  # fixture lists of changed days included
        except Exception as exc:  # a read cache going away must not stop the feed
            logger.warning("%s: cache write failed: %s", self.sport, exc)

    def _check_stale(self, live_count: int, now: float) -> None:
        """Matches in play but nothing changed for a while: the upstream feed may be frozen
        (§8.6 item 6). Surfaced as a warning and a gauge; nothing is invented."""
        is_stale = live_count > 0 and now - self._last_change_at >= STALE_AFTER_S
        if is_stale and not self.is_stale:
            logger.warning(
                "%s: %d match(es) in play but no change for %.0fs: feed frozen?",
                self.sport,
                live_count,
                now - self._last_change_at,
            )
        self.is_stale = is_stale
        self.p.metrics.feed_stale.labels(sport=self.sport).set(1 if is_stale else 0)

    def _failed(self, kind: str, exc: UpstreamError, now: float) -> float:
        self._observe_quota(Fetch([], exc.quota, now), now)
        if isinstance(exc, QuotaExhausted):
            logger.warning("%s: daily quota exhausted upstream: %s", self.sport, exc)
            self.p.budget.block_until_reset(now)
            self.next_live_at = now + self.p.budget.seconds_to_reset(now) + 1
            return self._wait(now)
        if isinstance(exc, RateLimited):
            self.p.bucket.drain(now)
        if isinstance(exc, AuthRejected):
            logger.error("%s: upstream rejected the key, polling stopped: %s", self.sport, exc)
            self.is_stopped = True
            return 3600.0
        if kind == "reference" and self.reference is not None:
            self.reference.failed(exc, now)  # never the breaker or the live backoff
            return self._wait(now)
        if kind == "demand":
            self.demand.failed(now)  # never the breaker or the live backoff
            return self._wait(now)
        if isinstance(exc, Unavailable) and self._down_since is None:
            self._down_since = now
        if isinstance(exc, Unavailable | RateLimited):
            self.p.breaker.record_failure(now)
            self.p.metrics.set_circuit(self.sport, self.p.breaker.state)
        else:
            logger.warning("%s: %s request refused: %s", self.sport, kind, exc)
        delay = self.p.backoff.delay(self._failures)
        if isinstance(exc, RateLimited):
            delay = max(delay, RATE_LIMITED_PAUSE_S)  # this minute's allowance is gone
        self._failures += 1
        logger.warning("%s: %s poll failed (%s), retry in %.1fs", self.sport, kind, exc, delay)
        if kind == "live":
            self.next_live_at = now + delay
        elif kind == "fixtures":
            self.next_fixtures_at = now + max(delay, 600.0)
        else:
            for match_id, (due, looks) in list(self._finishing.items()):
                if due <= now:
                    self._finishing[match_id] = (now + delay, looks)
        return self._wait(now)

    async def _flush(self, now: float) -> float:
        assert self._pending is not None
        pending = self._pending
        messages, states = pending.messages, pending.states
        try:
            await self.p.publisher.publish(messages)
        except PublishError as exc:
            self.p.metrics.publish_failures.labels(sport=self.sport).inc()
            delay = self.p.backoff.delay(min(self._failures, 5))
            self._failures += 1
            logger.warning("%s: publish failed (%s), retry in %.1fs", self.sport, exc, delay)
            return delay
        if messages:
            self.p.metrics.publish_latency.labels(sport=self.sport).observe(
                max(0.0, self.p.clock.time() - pending.received_at)
            )
        self._pending = None
        self._raw_seen.update(pending.fingerprints)
        for state in states:
            self.states[state.match.match_id] = state
        await self._write_cache(pending)
        if self.reference is not None:
            await self.reference.after_poll([s.match for s in states], pending.polled_at)
        # Planned from the state subscribers now have, so the plan sees this poll's matches.
        self._schedule(pending.kind, pending.polled_at)
        if pending.kind == "fixtures":
            await self._prune(pending.polled_at)
        try:
            await self.p.snapshots.save(self.sport, states)
        except Exception as exc:  # the changes are out; losing the save only risks a resend
            logger.warning("%s: snapshot save failed: %s", self.sport, exc)
        return self._wait(now)
