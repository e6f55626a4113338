"""Property tests for the upstream normalisers (issue 10, "keep them fixed").

Any JSON value the provider can hand over (what ``orjson.loads`` yields: ints within 64 bits,
finite floats) becomes a Match or a :class:`NormalizeError` (a counted drop), and a Match is
always one the rest of the step can diff, route and cache. Two sources of input: arbitrary JSON,
and real sample items with random parts replaced or removed, which reach the deep branches.
Bounded to a few seconds: a fixed example budget, derandomised so CI runs the same cases.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poller.cache import cache_entries
from poller.config import load_catalogue
from poller.detect import detect
from poller.normalize import NORMALIZERS, NormalizeError, normalize_item
from poller.routing import RoutingOptions, route
from tests.poller.conftest import SAMPLE_DAY_14H, sample

BOUNDED = settings(
    max_examples=150,
    deadline=None,  # the budget bounds the run; a per-example deadline only flakes on a busy CI
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CATALOGUE = load_catalogue()
#: Strings that look like numbers to ``str.isdigit`` or to a careless reader, and real codes.
TRICKY = ["²", "٣", "١٢", "12", "-3", " 7 ", "", "1e3", "0x10", "9" * 30, "1H", "HT", "FT", "Q2"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.integers(min_value=10**12, max_value=10**14)  # timestamps in ms, or garbage
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(TRICKY + ["IN3", "IN²", "LIVE", "NS"])
)
KEYS = st.sampled_from(
    ["id", "fixture", "league", "teams", "home", "away", "status", "short", "elapsed", "extra",
     "timestamp", "scores", "goals", "total", "events", "time", "timer", "innings", "season"]
) | st.text(max_size=6)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
SAMPLES: dict[str, list[Any]] = {
    "football": sample("football-fixtures-live-all.json")["response"]
    + sample("football-fixture-by-id.json")["response"],
    "basketball": sample("basketball-games-live.json")["response"],
    "baseball": sample("baseball-games.json")["response"],
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key or index path inside ``value`` (the places a mutation can hit)."""
    out: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, inner in items:
        out.append((*prefix, key))
        if isinstance(inner, dict | list) and inner:
            out.extend(_paths(inner, (*prefix, key)))
    return out


def _set(item: Any, path: tuple[Any, ...], value: Any, *, remove: bool) -> Any:
    """A copy of ``item`` with the value at ``path`` replaced (or removed)."""
    head, rest = path[0], path[1:]
    copy: Any = dict(item) if isinstance(item, dict) else list(item)
    if rest:
        copy[head] = _set(copy[head], rest, value, remove=remove)
    elif remove and isinstance(copy, dict):
        del copy[head]
    else:
        copy[head] = value
    return copy


#: Fields read as numbers or times: half the mutations aim here, with a tricky value half the time.
NUMERIC_KEYS = frozenset({"id", "elapsed", "extra", "timestamp", "total", "timer", "home", "away"})
TRICKY_VALUES = st.sampled_from([*TRICKY, 10**13, -1, 2**64 - 1, 1.5, True, [], {}])


@st.composite
def mutated(draw: st.DrawFn, sport: str) -> Any:
    item = draw(st.sampled_from(SAMPLES[sport]))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(item)
        numeric = [p for p in paths if p[-1] in NUMERIC_KEYS or p[-1] == "short"]
        if not paths:
            break
        aimed = bool(numeric) and draw(st.booleans())
        path = draw(st.sampled_from(numeric if aimed else paths))
        value = draw(TRICKY_VALUES | JSON if aimed else JSON)
        item = _set(item, path, value, remove=not aimed and draw(st.booleans()))
    return item


def _check(sport: str, raw: Any) -> None:
    """A Match the rest of the step can use, or a NormalizeError: never anything else."""
    try:
        match = normalize_item(sport, raw)
    except NormalizeError as exc:
        assert exc.reason in {"not_an_object", "missing_field", "timestamp", "unknown_sport"}
        return
    options = RoutingOptions()
    for previous in (None, *(detect(None, match)[1:])):
        changes, state = detect(previous, match)
        for change in changes:
            for out in route(change, catalogue=CATALOGUE, now=SAMPLE_DAY_14H, options=options):
                assert len(out.channel) <= 164
    entries = cache_entries(
        sport, [match], {match.match_id}, CATALOGUE, now=SAMPLE_DAY_14H, is_live_poll=True
    )
    assert entries


@BOUNDED
@given(sport=st.sampled_from(sorted(NORMALIZERS)), raw=JSON)
def test_any_json_value_is_a_match_or_a_counted_drop(sport: str, raw: Any) -> None:
    _check(sport, raw)


@BOUNDED
@given(data=st.data(), sport=st.sampled_from(sorted(NORMALIZERS)))
def test_a_real_item_with_parts_replaced_is_a_match_or_a_counted_drop(
    data: st.DataObject, sport: str
) -> None:
    _check(sport, data.draw(mutated(sport)))


def test_the_samples_themselves_normalise() -> None:
    for sport, items in SAMPLES.items():
        for raw in items:
            assert normalize_item(sport, raw).sport == sport
