"""Seeded generators of realistic match days for the demo and for tests.

Everything derives from one ``random.Random(seed)``: the same seed gives the same day, byte for
byte. One football match of the day has a VAR-disallowed goal (and a backfilled scorer name),
one goes to extra time and penalties, one is postponed.
"""

from __future__ import annotations

import random

from poller.simulator.scenario import Action, League, Player, ScriptedMatch, Side

__all__ = ["LEAGUES", "baseball_game", "basketball_game", "demo_day", "football_match"]

LEAGUES = {
    "football": League(90010, "Arcadian Premier Division"),
    "football-cup": League(90020, "Arcadian Cup", kind="Cup"),
    "basketball": League(90040, "Arcadian Basketball League", season="2026-2027"),
    "baseball": League(90050, "Arcadian Baseball League"),
}
_TOWNS = [
    "Northbridge",
    "Eastvale",
    "Harbour City",
    "Millbrook",
    "Westmoor",
    "Kingsport",
    "Fenwick",
    "Ashcombe",
    "Stonebury",
    "Larkhill",
    "Ravensholm",
    "Dunmore",
    "Corran",
    "Highgate",
    "Pellow",
    "Barrow",
]
_SURNAMES = [
    "Marsh",
    "Okafor",
    "Varga",
    "Silva",
    "Pereira",
    "Brandt",
    "Achebe",
    "Moreau",
    "Novak",
    "Duarte",
    "Abara",
    "Ferraz",
    "Sato",
    "Vidal",
    "Quinn",
    "Rourke",
    "Lindgren",
]
_FIRST = ["Tobias", "Luca", "Daniel", "Gabriel", "Jonas", "Kai", "Rafael", "Samuel", "Emil"]
MIN = 60.0


def _player(rng: random.Random, team_id: int) -> Player:
    first, last = rng.choice(_FIRST), rng.choice(_SURNAMES)
    return Player(team_id * 100 + rng.randrange(1, 99), f"{first[0]}. {last}")


def _at(minute: int) -> float:
    """Offset from kick-off of a match minute: 1H 0–47', HT 15', 2H from 62'."""
    return (minute - 1) * MIN + 30 if minute <= 45 else 62 * MIN + (minute - 46) * MIN + 30


def football_match(
    rng: random.Random,
    match_id: int,
    league: League,
    home: Side,
    away: Side,
    kickoff: float,
    *,
    has_var: bool = False,
    has_extra_time: bool = False,
    is_postponed: bool = False,
) -> ScriptedMatch:
    if is_postponed:
        actions = (Action(-3 * 3600, "postpone"),)
        return ScriptedMatch("football", match_id, league, home, away, kickoff, actions)
    acts = [Action(0, "kickoff"), Action(47 * MIN, "half_time"), Action(62 * MIN, "second_half")]
    sides = {"home": home, "away": away}
    goals = rng.randint(0, 4)
    for _ in range(goals):
        side = rng.choice(["home", "away"])
        acts.append(
            Action(
                _at(rng.randint(2, 89)),
                "goal",
                side,
                _player(rng, sides[side].id),
                _player(rng, sides[side].id),
                "Normal Goal",
            )
        )
    for _ in range(rng.randint(1, 4)):
        side = rng.choice(["home", "away"])
        acts.append(
            Action(
                _at(rng.randint(5, 88)),
                "card",
                side,
                _player(rng, sides[side].id),
                detail="Yellow Card",
                comments=rng.choice(["Foul", "Holding"]),
            )
        )
    for side in ("home", "away"):
        for n in range(1, rng.randint(2, 3) + 1):
            acts.append(
                Action(
                    _at(rng.randint(55, 85)),
                    "subst",
                    side,
                    _player(rng, sides[side].id),
                    _player(rng, sides[side].id),
                    f"Substitution {n}",
                )
            )
    if has_extra_time:
        acts = [a for a in acts if a.kind != "goal"]
        acts.append(
            Action(
                _at(30), "goal", "home", Player(home.id * 100 + 9, "N. Abara"), detail="Normal Goal"
            )
        )
        acts.append(
            Action(
                _at(70), "goal", "away", Player(away.id * 100 + 13, "N. Hartmann"), detail="Penalty"
            )
        )
        acts += [
            Action(110 * MIN, "extra_time"),
            Action(125 * MIN, "et_break"),
            Action(127 * MIN, "et_second"),
            Action(142 * MIN, "penalties"),
        ]
        for kick in range(10):
            side = "home" if kick % 2 == 0 else "away"
            scored = kick != 7
            acts.append(
                Action(
                    143 * MIN + kick * 40,
                    "shootout_kick",
                    side,
                    _player(rng, sides[side].id),
                    detail="Penalty" if scored else "Missed Penalty",
                )
            )
        acts.append(Action(150 * MIN, "end", value="PEN"))
    else:
        acts.append(Action(110 * MIN, "end", value="FT"))
    acts.sort(key=lambda a: a.at_s)
    if has_var:
        scorer = Player(home.id * 100 + 3, "G. Silva")
        early = Player(home.id * 100 + 1, "T. Marsh")
        booked = Player(away.id * 100 + 14, "D. Varga")
        acts += [
            Action(_at(18), "goal", "home", early, detail="Normal Goal", tag="early"),
            Action(
                _at(27),
                "card",
                "away",
                booked,
                detail="Yellow Card",
                comments="Foul",
                tag="booking",
            ),
            Action(_at(29), "duplicate", ref="booking"),
            Action(_at(35), "goal", "home", scorer, detail="Normal Goal", tag="offside"),
            Action(
                _at(35) + 100, "var_disallow", ref="offside", detail="Goal Disallowed - offside"
            ),
            Action(_at(40), "backfill_name", ref="early", player=Player(early.id, "Tobias Marsh")),
        ]
        acts.sort(key=lambda a: a.at_s)
    return ScriptedMatch(
        "football", match_id, league, home, away, kickoff, tuple(acts), venue=f"{home.name} Park"
    )


def basketball_game(
    rng: random.Random, match_id: int, home: Side, away: Side, kickoff: float
) -> ScriptedMatch:
    acts = []
    layout = [("Q1", 0), ("BT", 12), ("Q2", 14), ("HT", 26), ("Q3", 41), ("BT", 53), ("Q4", 55)]
    for short, minute in layout:
        acts.append(Action(minute * MIN, "period", value=short))
        if short.startswith("Q"):
            t = minute * MIN + 20
            while t < (minute + 12) * MIN:
                acts.append(
                    Action(
                        t, "score", rng.choice(["home", "away"]), value=rng.choice([1, 2, 2, 2, 3])
                    )
                )
                t += rng.uniform(15, 45)
    acts.append(Action(67 * MIN, "end", value="FT"))
    return ScriptedMatch(
        "basketball",
        match_id,
        LEAGUES["basketball"],
        home,
        away,
        kickoff,
        tuple(sorted(acts, key=lambda a: a.at_s)),
        venue=f"{home.name} Arena",
    )


def baseball_game(
    rng: random.Random, match_id: int, home: Side, away: Side, kickoff: float
) -> ScriptedMatch:
    acts = []
    for inning in range(1, 10):
        start = (inning - 1) * 20 * MIN
        acts.append(Action(start, "period", value=f"IN{inning}"))
        if rng.random() < 0.3:
            acts.append(Action(start + 5 * MIN, "score", "away", value=rng.randint(1, 3)))
        acts.append(Action(start + 10 * MIN, "bottom"))
        if rng.random() < 0.3:
            acts.append(Action(start + 15 * MIN, "score", "home", value=rng.randint(1, 3)))
    acts.append(Action(180 * MIN, "end", value="FT"))
    return ScriptedMatch(
        "baseball",
        match_id,
        LEAGUES["baseball"],
        home,
        away,
        kickoff,
        tuple(acts),
        venue=f"{home.name} Field",
    )


def demo_day(
    seed: int,
    day_start: float,
    *,
    football: int = 6,
    basketball: int = 3,
    baseball: int = 2,
    football_spacing_s: float = 3600.0,
) -> list[ScriptedMatch]:
    """A day of matches from ``day_start`` (00:00 UTC): football kicks off hourly from 12:00
    (the second match has the VAR sequence, a backfilled scorer name and a card filed twice;
    the third goes to penalties; the sixth is postponed); basketball and baseball start every two
    hours from 12:30. ``football_spacing_s`` packs the football kick-offs closer for a demo."""
    rng = random.Random(seed)
    matches: list[ScriptedMatch] = []
    ids = {"football": 990100, "basketball": 995000, "baseball": 996000}
    team_ids = {"football": 90100, "basketball": 90200, "baseball": 90300}
    nicknames = {
        "football": [""],
        "basketball": [" Hawks", " Comets", " Tide", " Miners", " Wolves", " Kings"],
        "baseball": [" Pilots", " Owls", " Gulls", " Millers"],
    }
    for sport, count in (
        ("football", football),
        ("basketball", basketball),
        ("baseball", baseball),
    ):
        for n in range(count):
            ids[sport] += 1
            names = nicknames[sport]
            home = Side(
                team_ids[sport] + 2 * n + 1, _TOWNS[(2 * n) % 16] + names[(2 * n) % len(names)]
            )
            away = Side(
                team_ids[sport] + 2 * n + 2,
                _TOWNS[(2 * n + 1) % 16] + names[(2 * n + 1) % len(names)],
            )
            if sport == "football":
                kickoff = day_start + 12 * 3600 + n * football_spacing_s
            else:
                kickoff = day_start + (12.5 + 2 * n) * 3600
            if sport == "football":
                league = LEAGUES["football-cup"] if n == 2 else LEAGUES["football"]
                matches.append(
                    football_match(
                        rng,
                        ids[sport],
                        league,
                        home,
                        away,
                        kickoff,
                        has_var=n == 1,
                        has_extra_time=n == 2,
                        is_postponed=n == 5,
                    )
                )
            elif sport == "basketball":
                matches.append(basketball_game(rng, ids[sport], home, away, kickoff))
            else:
                matches.append(baseball_game(rng, ids[sport], home, away, kickoff))
    return matches
