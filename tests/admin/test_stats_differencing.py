"""No sequence of `sro stats` queries reveals a small count.

A realistic data set where one small school has a cell of 2. Every
combination of queries is run through the real command (by day, week and
month; each school and all; several aligned ranges), and every exact
number published becomes a linear equation over the base cells (school,
intent, day, urgent); every `<5` is 1..4 and every `x` at least 1. A
linear program then minimises and maximises the hidden cell under all of
them: it must not be determined. Plain subtraction is checked too, and a
large cell must come out exactly (the positive control).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from itertools import product

import numpy as np
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from admin.cli import app
from casework import schools
from casework.schools import NewSchool
from casework.stats import recording
from casework.stats.periods import Granularity, period_of
from casework.vault.master_key import MasterKey
from storage.db import Database
from tests.storage.fixtures import DatabaseUnderTest

FIRST, LAST = date(2025, 2, 1), date(2025, 3, 31)
INTENTS = ["greet", "report_bullying", "report_weapon", "ask_officer"]
TARGET = ("SML", "report_weapon", date(2025, 2, 12))  # the small school's hidden cell (2 urgent reports)
BIG = ("BIG", "greet")  # a large cell for the positive control
RANGES = [
    (FIRST, LAST),
    (FIRST, date(2025, 2, 28)),
    (date(2025, 3, 1), LAST),
    (date(2025, 2, 3), date(2025, 2, 16)),
    (date(2025, 2, 10), date(2025, 2, 14)),
    (date(2025, 2, 12), date(2025, 2, 12)),
    (date(2025, 2, 13), date(2025, 3, 9)),
]

Cell = tuple[str, str, date, bool]  # school code ("-" for none), intent, day, urgent


def dataset() -> dict[Cell, int]:
    rng = random.Random(20250212)
    cells: dict[Cell, int] = {}
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            cells[("BIG", "greet", day, False)] = rng.randint(6, 14)
            cells[("BIG", "report_bullying", day, False)] = rng.randint(0, 6)
            cells[("MID", "greet", day, False)] = rng.randint(2, 8)
            if rng.random() < 0.3:
                cells[("MID", "report_weapon", day, True)] = rng.randint(1, 3)
            if rng.random() < 0.4:
                cells[("SML", "greet", day, False)] = rng.randint(1, 3)
            if rng.random() < 0.2:
                cells[("-", "ask_officer", day, False)] = 1
        day += timedelta(days=1)
    cells[("SML", "report_weapon", TARGET[2], True)] = 2
    return {cell: count for cell, count in cells.items() if count}


async def load(url: str, cells: dict[Cell, int]) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    database = Database.connect(url)
    async with database.transaction() as session:
        ids = {
            code: (await schools.add_school(session, NewSchool.checked(f"{code} school", code), now)).id
            for code in ("BIG", "MID", "SML")
        }
        for (code, intent, day, urgent), count in cells.items():
            for _ in range(count):
                await recording.record(
                    session, school_id=ids.get(code), intent=intent, urgent=urgent, day=day
                )
    await database.close()


def members(
    published: dict[str, object], first: date, last: date, by: Granularity, universe: list[Cell]
) -> list[int]:
    """Which base cells a published number sums."""
    school, intent, measure, label = (published[k] for k in ("school", "intent", "measure", "period"))
    if label == "total":
        start, end = first, last
    else:
        period = period_of(
            date.fromisoformat(str(label) + ("-01" if by == Granularity.MONTH else ""))
            if by != Granularity.WEEK
            else date.fromisoformat(str(label).split("..")[0]),
            by,
        )
        start, end = period.start, period.end
    school_code = {"ALL": None, "(none)": "-"}.get(str(school), str(school))
    return [
        n for n, (s, i, d, u) in enumerate(universe)
        if start <= d <= end
        and (school_code is None or s == school_code)
        and (intent == "*" or i == intent)
        and (measure == "count" or u)
    ]  # fmt: skip


@pytest.mark.filterwarnings("ignore::DeprecationWarning:scipy")
def test_no_sequence_of_queries_reveals_a_small_count(
    test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    cells = dataset()
    asyncio.run(load(test_database.url, cells))
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())

    # Every base cell that could be non-zero: every school (and none) x intent x day x urgency.
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    universe: list[Cell] = list(product(["BIG", "MID", "SML", "-"], INTENTS, days, [False, True]))
    truth = np.array([cells.get(c, 0) for c in universe], dtype=float)
    equations: dict[tuple[int, ...], int] = {}
    small: set[tuple[int, ...]] = set()
    withheld: set[tuple[int, ...]] = set()
    big_exact = False
    runner = CliRunner()
    for (first, last), by, school in product(RANGES, list(Granularity), ["BIG", "MID", "SML", None]):
        args = ["stats", "--from", str(first), "--to", str(last), "--by", str(by), "--format", "json"]
        result = runner.invoke(app, args + (["--school", school] if school else []))
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        used_first, used_last = date.fromisoformat(report["from"]), date.fromisoformat(report["to"])
        for published in report["counts"]:
            rows = tuple(members(published, used_first, used_last, by, universe))
            value = published["value"]
            if isinstance(value, int):
                assert value == int(truth[list(rows)].sum()), published  # what is shown is true
                equations[rows] = value
                big_exact |= (published["school"], published["intent"], by, published["period"]) == (
                    *BIG,
                    Granularity.MONTH,
                    "2025-02",
                )
            elif value == "<5":
                small.add(rows)
            else:
                assert value == "x"
                withheld.add(rows)

    assert big_exact, "positive control: a large cell is published exactly"
    target = tuple(n for n, (s, i, d, _) in enumerate(universe) if (s, i, d) == TARGET)
    assert truth[list(target)].sum() == 2
    assert target in small | withheld  # it is hidden: <5, or x where even "at most 4" would give it away
    assert target not in equations

    # ... and no plain subtraction of two exact numbers isolates it,
    exact_sets = [frozenset(rows) for rows in equations]
    for outer, inner in product(exact_sets, exact_sets):
        assert not (inner < outer and outer - inner == frozenset(target))

    # ... nor any linear combination of everything published, within the bounds.
    n = len(universe)
    a_eq = np.zeros((len(equations), n))
    for row, rows in enumerate(equations):
        a_eq[row, list(rows)] = 1
    b_eq = np.array(list(equations.values()), dtype=float)
    inequalities = [(rows, 4.0, 1.0) for rows in small] + [(rows, None, 1.0) for rows in withheld]
    a_ub, b_ub = [], []
    for rows, upper, lower in inequalities:
        vector = np.zeros(n)
        vector[list(rows)] = 1
        if upper is not None:
            a_ub.append(vector)
            b_ub.append(upper)
        a_ub.append(-vector)
        b_ub.append(-lower)
    objective = np.zeros(n)
    objective[list(target)] = 1
    bounds = {"A_eq": a_eq, "b_eq": b_eq, "A_ub": np.array(a_ub), "b_ub": np.array(b_ub), "method": "highs"}
    low = linprog(objective, **bounds)
    high = linprog(-objective, **bounds)
    assert low.status == 0
    assert high.status in (0, 3)
    assert low.fun <= 2 <= -high.fun if high.status == 0 else True
    spread = (-high.fun if high.status == 0 else float("inf")) - low.fun
    assert spread > 0.5, f"the hidden cell is pinned to {low.fun}"
