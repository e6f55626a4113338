"""Bookkeeping for the soak (:mod:`bench.soak`): pure, so its arithmetic can be read and tested
on its own. What was published per channel, what each subscription period had to receive, and
the figures at the end (RSS slope by least squares, percentiles)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Ledger", "Period", "Tally", "least_squares_slope", "percentiles"]


class Ledger:
    """Per channel: the next sequence number to send, and how far every trigger has been
    answered (``acked_upto``: every seq below it has its HTTP answer)."""

    def __init__(self, channels: int) -> None:
        self.next_seq = [0] * channels
        self._acked_upto = [0] * channels
        self._answered: list[set[int]] = [set() for _ in range(channels)]
        self.failed: list[set[int]] = [set() for _ in range(channels)]
        self.accepted = 0

    def send(self, ch: int) -> int:
        seq = self.next_seq[ch]
        self.next_seq[ch] = seq + 1
        return seq

    def resolve(self, ch: int, seq: int, *, is_accepted: bool) -> None:
        if is_accepted:
            self.accepted += 1
        else:
            self.failed[ch].add(seq)  # refused or unanswered: nobody has to receive it
        answered = self._answered[ch]
        answered.add(seq)
        upto = self._acked_upto[ch]
        while upto in answered:
            answered.discard(upto)
            upto += 1
        self._acked_upto[ch] = upto

    def acked_upto(self, ch: int) -> int:
        return self._acked_upto[ch]

    def expected(self, ch: int, start: int, stop: int) -> int:
        """Accepted triggers with ``start <= seq < stop``."""
        if stop <= start:
            return 0
        return stop - start - sum(1 for s in self.failed[ch] if start <= s < stop)


class Period:
    """One subscription of one connection: it must receive every accepted trigger of ``ch`` from
    ``start`` (the next seq when ``subscription_succeeded`` arrived) up to ``stop`` (the acked
    prefix when ``pusher:unsubscribe`` was sent, or at the end of the run)."""

    __slots__ = ("ch", "start", "stop", "got", "closed_at")

    def __init__(self, ch: int, start: int) -> None:
        self.ch = ch
        self.start = start
        self.stop: int | None = None
        self.got = bytearray()  # receipts per seq - start (capped at 255)
        self.closed_at: float | None = None

    def take(self, ch: int, seq: int) -> bool:
        if ch != self.ch or seq < self.start or (self.stop is not None and seq >= self.stop):
            return False
        i = seq - self.start
        if i >= len(self.got):
            self.got.extend(bytes(i + 1 - len(self.got)))
        if self.got[i] < 255:
            self.got[i] += 1
        return True

    def close(self, stop: int, now: float) -> None:
        self.stop = stop
        self.closed_at = now


class Tally:
    """Totals over every filed period."""

    __slots__ = ("periods", "expected", "received", "duplicates", "outside")

    def __init__(self) -> None:
        self.periods = 0
        self.expected = 0
        self.received = 0
        self.duplicates = 0
        self.outside = 0  # events that fell in no period (in flight around a switch)

    def add(self, period: Period, ledger: Ledger) -> None:
        stop = period.stop if period.stop is not None else period.start
        failed = ledger.failed[period.ch]
        self.periods += 1
        self.expected += ledger.expected(period.ch, period.start, stop)
        for i, count in enumerate(period.got[: max(0, stop - period.start)]):
            if count and period.start + i not in failed:
                self.received += 1
                self.duplicates += count - 1

    @property
    def lost(self) -> int:
        return self.expected - self.received


def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The slope of the least-squares line through the points (None for fewer than two)."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max (nearest rank), or Nones when there is nothing to rank."""
    if not values:
        return {"p50": None, "p99": None, "max": None, "count": 0}
    ranked = sorted(values)

    def at(q: float) -> float:
        return ranked[min(len(ranked) - 1, max(0, int(q * len(ranked) + 0.999999) - 1))]

    return {"p50": at(0.50), "p99": at(0.99), "max": ranked[-1], "count": len(ranked)}
