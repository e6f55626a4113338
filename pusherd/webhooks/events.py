"""Webhook event values and the timing rules that decide when each one is sent (reference §10).

Sans-I/O (house rule 1): :class:`WebhookRules` is fed what happened, with ``now`` in monotonic
seconds, and returns the events to send at once; events it holds come out of :meth:`due` later.
The rules, per app:

* ``channel_vacated`` and ``member_removed`` are held for 3 s; a re-occupation / re-join inside
  that window cancels the held event *and* suppresses the ``channel_occupied`` /
  ``member_added`` that would have announced it (§10.4), so a page reload does not flap.
* ``cache_miss`` goes out once per channel until :meth:`WebhookRules.cache_filled` (§10.3, §11).
  The channels already reported are a stranger-grown map, so it is bounded: a miss is forgotten
  after ``miss_memory_s`` or when :data:`MISSED_MAX` newer ones push it out, and at worst that
  channel's next miss is reported once more.
* ``subscription_count`` of a channel above 100 subscribers goes out at most once per 5 s; what
  changes inside a window is sent, latest value only, when the window ends (§10.3, §12).

Every hold has the same length, so the held events sit in FIFO order by deadline and every
operation is O(1): cancelling only forgets the key, and :meth:`due` skips stale queue entries.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "MISSED_MAX",
    "CacheMiss",
    "ChannelOccupied",
    "ChannelVacated",
    "ClientEvent",
    "MemberAdded",
    "MemberRemoved",
    "SubscriptionCount",
    "WebhookEvent",
    "WebhookRules",
]

#: Pusher's grace delay for channel_vacated / member_removed (§10.4).
HOLD_S = 3.0
#: Above this many subscribers, subscription_count is throttled (§10.3, §12).
COUNT_THROTTLE_ABOVE = 100
COUNT_THROTTLE_WINDOW_S = 5.0
#: How many reported cache misses are remembered, and for how long (monotonic seconds).
MISSED_MAX = 10_000
MISS_MEMORY_S = 3600.0

Payload = dict[str, str | int]


@dataclass(frozen=True, slots=True)
class ChannelOccupied:
    name: ClassVar[str] = "channel_occupied"
    channel: str

    def to_payload(self) -> Payload:
        return {"name": self.name, "channel": self.channel}


@dataclass(frozen=True, slots=True)
class ChannelVacated:
    name: ClassVar[str] = "channel_vacated"
    channel: str

    def to_payload(self) -> Payload:
        return {"name": self.name, "channel": self.channel}


@dataclass(frozen=True, slots=True)
class MemberAdded:
    """Only the id: Pusher deliberately sends no ``user_info`` (§10.3)."""

    name: ClassVar[str] = "member_added"
    channel: str
    user_id: str

    def to_payload(self) -> Payload:
        return {"name": self.name, "channel": self.channel, "user_id": self.user_id}


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    name: ClassVar[str] = "member_removed"
    channel: str
    user_id: str

    def to_payload(self) -> Payload:
        return {"name": self.name, "channel": self.channel, "user_id": self.user_id}


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """``data`` is the string form; ``user_id`` only on presence channels (§10.3, checklist 87)."""

    name: ClassVar[str] = "client_event"
    channel: str
    event: str
    data: str
    socket_id: str
    user_id: str | None = None

    def to_payload(self) -> Payload:
        payload: Payload = {
            "name": self.name,
            "channel": self.channel,
            "event": self.event,
            "data": self.data,
            "socket_id": self.socket_id,
        }
        if self.user_id is not None:
            payload["user_id"] = self.user_id
        return payload


@dataclass(frozen=True, slots=True)
class CacheMiss:
    name: ClassVar[str] = "cache_miss"
    channel: str

    def to_payload(self) -> Payload:
        return {"name": self.name, "channel": self.channel}


@dataclass(frozen=True, slots=True)
class SubscriptionCount:
    """An integer, although the docs' example shows a string (§17 item 19)."""

    name: ClassVar[str] = "subscription_count"
    channel: str
    subscription_count: int

    def to_payload(self) -> Payload:
        return {
            "name": self.name,
            "channel": self.channel,
            "subscription_count": self.subscription_count,
        }


WebhookEvent = (
    ChannelOccupied
    | ChannelVacated
    | MemberAdded
    | MemberRemoved
    | ClientEvent
    | CacheMiss
    | SubscriptionCount
)

_HoldKey = tuple[str, ...]


@dataclass(slots=True)
class _Held:
    deadline: float
    key: _HoldKey
    event: ChannelVacated | MemberRemoved


@dataclass(slots=True)
class _Window:
    deadline: float
    channel: str
    latest: int | None = None


class WebhookRules:
    """The delay, cancel, de-duplicate and throttle rules of one app; pure and O(1) per call.

    Args:
        hold_s: how long ``channel_vacated`` / ``member_removed`` wait (Pusher: 3 s).
        count_window_s: the ``subscription_count`` throttle window (Pusher: 5 s).
        count_throttle_above: subscriber count above which the throttle applies (Pusher: 100).
        miss_memory_s / missed_max: how long and how many reported cache misses are remembered.
    """

    def __init__(
        self,
        *,
        hold_s: float = HOLD_S,
        count_window_s: float = COUNT_THROTTLE_WINDOW_S,
        count_throttle_above: int = COUNT_THROTTLE_ABOVE,
        miss_memory_s: float = MISS_MEMORY_S,
        missed_max: int = MISSED_MAX,
    ) -> None:
        self._hold_s = hold_s
        self._count_window_s = count_window_s
        self._count_throttle_above = count_throttle_above
        self._held: dict[_HoldKey, _Held] = {}
        self._held_queue: deque[_Held] = deque()
        self._miss_memory_s = miss_memory_s
        self._missed_max = missed_max
        #: channel → when its miss was reported; insertion order is time order.
        self._missed: dict[str, float] = {}
        self._windows: dict[str, _Window] = {}
        self._window_queue: deque[_Window] = deque()

    # -- occupancy and presence (§10.4) ------------------------------------------------------

    def channel_occupied(self, channel: str, now: float) -> list[WebhookEvent]:
        # "if the client comes back within that window, neither the vacated nor the matching
        # occupied webhook is sent"
        if self._held.pop(("vacated", channel), None) is not None:
            return []
        return [ChannelOccupied(channel)]

    def channel_vacated(self, channel: str, now: float) -> list[WebhookEvent]:
        self._hold(("vacated", channel), ChannelVacated(channel), now)
        return []

    def member_added(self, channel: str, user_id: str, now: float) -> list[WebhookEvent]:
        if self._held.pop(("removed", channel, user_id), None) is not None:
            return []
        return [MemberAdded(channel, user_id)]

    def member_removed(self, channel: str, user_id: str, now: float) -> list[WebhookEvent]:
        self._hold(("removed", channel, user_id), MemberRemoved(channel, user_id), now)
        return []

    def _hold(self, key: _HoldKey, event: ChannelVacated | MemberRemoved, now: float) -> None:
        held = _Held(now + self._hold_s, key, event)
        self._held[key] = held
        self._held_queue.append(held)

    # -- cache channels (§11) ----------------------------------------------------------------

    def cache_miss(self, channel: str, now: float) -> list[WebhookEvent]:
        # "at most one per channel until the cache is filled again" (§10.3 [R])
        missed = self._missed
        forget_before = now - self._miss_memory_s
        while missed and next(iter(missed.values())) <= forget_before:
            del missed[next(iter(missed))]  # the oldest first: amortised O(1) per call
        if channel in missed:
            return []
        if len(missed) >= self._missed_max:
            del missed[next(iter(missed))]
        missed[channel] = now
        return [CacheMiss(channel)]

    def cache_filled(self, channel: str) -> None:
        self._missed.pop(channel, None)

    def missed_count(self) -> int:
        """How many cache misses are remembered as reported (bounded by ``missed_max``)."""
        return len(self._missed)

    # -- subscription count (§12) ------------------------------------------------------------

    def subscription_count(self, channel: str, count: int, now: float) -> list[WebhookEvent]:
        window = self._windows.get(channel)
        if window is not None:
            # Something went out less than a window ago: keep only the latest value for its end.
            window.latest = count
            return []
        if count > self._count_throttle_above:
            self._open_window(channel, now)
        return [SubscriptionCount(channel, count)]

    def _open_window(self, channel: str, now: float) -> None:
        window = _Window(now + self._count_window_s, channel)
        self._windows[channel] = window
        self._window_queue.append(window)

    # -- time --------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The monotonic time at which :meth:`due` next has something to do, if any."""
        self._drop_stale()
        deadlines = [queue[0].deadline for queue in (self._held_queue, self._window_queue) if queue]
        return min(deadlines) if deadlines else None

    def due(self, now: float) -> list[WebhookEvent]:
        """The held events whose deadline has passed, in the order they were held."""
        events: list[WebhookEvent] = []
        while self._held_queue and self._held_queue[0].deadline <= now:
            held = self._held_queue.popleft()
            if self._held.get(held.key) is held:
                del self._held[held.key]
                events.append(held.event)
        while self._window_queue and self._window_queue[0].deadline <= now:
            window = self._window_queue.popleft()
            if self._windows.get(window.channel) is not window:
                continue
            del self._windows[window.channel]
            if window.latest is not None:
                # Activity inside the window: send the latest value and start a new window.
                events.append(SubscriptionCount(window.channel, window.latest))
                self._open_window(window.channel, now)
        return events

    def drain(self) -> list[WebhookEvent]:
        """Everything still held, at once (for shutdown): held events, then latest counts."""
        events: list[WebhookEvent] = [held.event for held in self._held.values()]
        events.extend(
            SubscriptionCount(window.channel, window.latest)
            for window in self._windows.values()
            if window.latest is not None
        )
        self._held.clear()
        self._held_queue.clear()
        self._windows.clear()
        self._window_queue.clear()
        return events

    def _drop_stale(self) -> None:
        while (
            self._held_queue
            and self._held.get(self._held_queue[0].key) is not (self._held_queue[0])
        ):
            self._held_queue.popleft()
        while (
            self._window_queue
            and self._windows.get(self._window_queue[0].channel) is not (self._window_queue[0])
        ):
            self._window_queue.popleft()
