"""The month still running: its complete days and weeks are shown, and no two days' tables can be
subtracted to reveal a hidden count.

One month of statistics is published as `sro stats --format json` publishes it (the real report and
protection code, with an injected "today") on every day from the 3rd of the month to the 3rd of the
next, by day and by week, and then settled, by month. Every exact number becomes an equation over the
base counts (school, intent, day, urgent); every `<5` and `x` a bound. The attack: subtract any two
exact numbers, from the same or different days' tables, to isolate a day whose count is hidden; then
the same with a linear program over everything published on every day. The positive control: a naive
month-to-date total, published exactly each day, gives the hidden day away by plain subtraction.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from itertools import product
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

from admin.stats_command import as_csv, as_json
from casework import schools
from casework.schools import NewSchool
from casework.stats import recording
from casework.stats.periods import Granularity, month_end, period_of
from casework.stats.report import StatsQuery, build_report
from storage.db import Database
from tests.storage.fixtures import DatabaseUnderTest

MONTH = date(2026, 11, 1)
END = month_end(MONTH)
INTENTS = ["greet", "report_bullying", "report_weapon"]
HIDDEN_DAY = date(2026, 11, 18)  # the small school's only report that day: 2 urgent ones
Cell = tuple[str, str, date, bool]  # school code, intent, day, urgent


def dataset() -> dict[Cell, int]:
    rng = random.Random(20261118)
    cells: dict[Cell, int] = {}
    for n in range((END - MONTH).days + 1):
        day = MONTH + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        cells[("BIG", "greet", day, False)] = rng.randint(6, 12)
        cells[("BIG", "report_bullying", day, False)] = rng.randint(0, 5)
        if day != HIDDEN_DAY:
            cells[("SML", "greet", day, False)] = rng.randint(5, 9)  # big enough to be exact
    cells[("SML", "report_weapon", HIDDEN_DAY, True)] = 2
    return {cell: count for cell, count in cells.items() if count}


async def load(url: str, cells: dict[Cell, int]) -> None:
    database = Database.connect(url)
    async with database.transaction() as session:
        ids = {
            code: (
                await schools.add_school(
                    session, NewSchool.checked(f"{code} school", code), datetime.now(UTC)
                )
            ).id
            for code in ("BIG", "SML")
        }
        for (code, intent, day, urgent), count in cells.items():
            for _ in range(count):
                await recording.record(session, school_id=ids[code], intent=intent, urgent=urgent, day=day)
    await database.close()


def members(
    published: dict[str, Any], report: dict[str, Any], by: Granularity, universe: list[Cell]
) -> frozenset[int]:
    """Which base cells a published number sums."""
    label = str(published["period"])
    if label == "total":
        start, end = date.fromisoformat(report["from"]), date.fromisoformat(report["to"])
    elif by == Granularity.MONTH:
        start, end = date.fromisoformat(label + "-01"), month_end(date.fromisoformat(label + "-01"))
    else:
        period = period_of(date.fromisoformat(label.split("..")[0]), by)
        start, end = period.start, period.end
    school = None if published["school"] == "ALL" else published["school"]
    return frozenset(
        n for n, (s, i, d, u) in enumerate(universe)
        if start <= d <= end and school in (None, s)
        and published["intent"] in ("*", i) and (published["measure"] == "count" or u)
    )  # fmt: skip


Publication = tuple[date, Granularity, dict[str, Any]]


def publish(url: str) -> list[Publication]:
    """Every day's tables of the month, as `sro stats --format json` prints them."""

    async def run() -> list[Publication]:
        database = Database.connect(url)
        out = []
        try:
            for n in range(2, (END - MONTH).days + 4):
                today = MONTH + timedelta(days=n)
                settled = today > END + timedelta(days=1)
                for by in [Granularity.MONTH] if settled else [Granularity.DAY, Granularity.WEEK]:
                    report = await build_report(database, StatsQuery(MONTH, None, None, by), today, workers=1)
                    out.append((today, by, as_json(report, "America/Toronto")))
                    if today == date(2026, 11, 20) and by == Granularity.WEEK:
                        out.append((today, by, {"csv": as_csv(report)}))
        finally:
            await database.close()
        return out

    return asyncio.run(run())


@pytest.fixture
def published(test_database: DatabaseUnderTest) -> tuple[dict[Cell, int], list[Publication]]:
    cells = dataset()
    asyncio.run(load(test_database.url, cells))
    return cells, publish(test_database.url)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:scipy")
def test_the_running_month_cannot_be_differenced(
    published: tuple[dict[Cell, int], list[Publication]],
) -> None:
    cells, publications = published
    days = [MONTH + timedelta(days=n) for n in range((END - MONTH).days + 1)]
    universe: list[Cell] = list(product(["BIG", "SML"], INTENTS, days, [False, True]))
    truth = np.array([cells.get(c, 0) for c in universe], dtype=float)
    target = frozenset(n for n, (s, _, d, _) in enumerate(universe) if (s, d) == ("SML", HIDDEN_DAY))
    assert truth[list(target)].sum() == 2

    exact: dict[frozenset[int], int] = {}
    small: set[frozenset[int]] = set()
    withheld: set[frozenset[int]] = set()
    status_of: dict[tuple[str, str, str, str], object] = {}
    shown_days: set[date] = set()
    for today, by, report in publications:
        if "csv" in report:
            continue
        complete = today - timedelta(days=2)
        assert report["complete_until"] == complete.isoformat()
        assert {p["period"] for p in report["periods"] if p["complete"]} == {
            c["period"] for c in report["counts"] if c["period"] != "total"
        }
        for number in report["counts"]:
            rows = members(number, report, by, universe)
            if number["period"] != "total":
                period_end = max(universe[n][2] for n in rows) if rows else None
                assert period_end is None or period_end <= complete, (today, number)  # only complete periods
                if by == Granularity.DAY:
                    shown_days.add(date.fromisoformat(number["period"]))
                # A number keeps the status (and value) it was first shown with, every day after.
                key = (number["school"], number["period"], number["intent"], number["measure"])
                assert status_of.setdefault(key, number["value"]) == number["value"], (today, key)
            value = number["value"]
            if isinstance(value, int):
                assert value == int(truth[list(rows)].sum()), number  # what is shown is true
                exact[rows] = value
            elif value == "<5":
                small.add(rows)
            else:
                withheld.add(rows)
    # The running month's complete days were shown while it ran (the 18th from the 20th on) ...
    assert HIDDEN_DAY in shown_days
    assert status_of[("SML", HIDDEN_DAY.isoformat(), "*", "count")] in ("<5", "x")
    # ... and the month as a whole only once settled.
    assert all(
        c["period"] != "2026-11"
        for t, _, r in publications if "counts" in r and t <= END + timedelta(days=1)
        for c in r["counts"]
    )  # fmt: skip
    csv_text = next(r["csv"] for _, _, r in publications if "csv" in r)
    assert csv_text.splitlines()[0].endswith(",complete")
    assert "ALL,2026-11-16..2026-11-22,*,count,,no" in csv_text  # asked for, not over: said, not dropped

    assert not differences_isolate(target, set(exact)), "two published numbers subtract to the hidden day"
    assert not pinned_by_lp(target, exact, small, withheld, truth), "the hidden day can be worked out"

    # Positive control: a naive month-to-date total (the exact sum of every complete day), published
    # each day, isolates the hidden day by plain subtraction: the 20th's minus the 19th's.
    naive = {
        frozenset(n for n, c in enumerate(universe) if c[0] == "SML" and c[2] <= today - timedelta(days=2))
        for today, _, _ in publications
    }
    assert differences_isolate(target, set(exact) | naive)


def differences_isolate(target: frozenset[int], numbers: set[frozenset[int]]) -> bool:
    """Whether some exact number minus another is exactly the target's cells (zeros aside)."""
    return any(inner < outer and outer - inner == target for outer, inner in product(numbers, numbers))


def pinned_by_lp(
    target: frozenset[int],
    exact: dict[frozenset[int], int],
    small: set[frozenset[int]],
    withheld: set[frozenset[int]],
    truth: np.ndarray,
) -> bool:
    n = len(truth)
    a_eq = np.zeros((len(exact), n))
    for row, rows in enumerate(exact):
        a_eq[row, list(rows)] = 1
    a_ub, b_ub = [], []
    for rows, upper in [(r, 4.0) for r in small] + [(r, None) for r in withheld]:
        vector = np.zeros(n)
        vector[list(rows)] = 1
        if upper is not None:
            a_ub.append(vector)
            b_ub.append(upper)
        a_ub.append(-vector)
        b_ub.append(-1.0)
    objective = np.zeros(n)
    objective[list(target)] = 1
    bounds = {"A_eq": a_eq, "b_eq": np.array(list(exact.values()), dtype=float), "method": "highs"}
    bounds |= {"A_ub": np.array(a_ub), "b_ub": np.array(b_ub)}
    low, high = linprog(objective, **bounds), linprog(-objective, **bounds)
    assert low.status == 0
    assert low.fun <= 2
    return bool(high.status == 0 and -high.fun - low.fun < 0.5)
