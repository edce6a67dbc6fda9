"""Disclosure control against an independent linear program, on random months.

For each random month the published statuses are turned into constraints
over the base counts (each day cell's urgent and non-urgent parts) exactly
as an adversary would, and `scipy.optimize.linprog` minimises and
maximises every hidden count of 1..4: none may be pinned. The engine's own
audit uses HiGHS through another path (`disclosure_audit`); this check
shares no code with it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.optimize import linprog

from casework.stats.cube import ALL_INTENTS, ALL_SCHOOLS, COUNT, URGENT, BaseRow, CellKey, protect_month
from casework.stats.disclosure import Status
from casework.stats.periods import Granularity, period_of

MONTH = date(2026, 2, 1)


def random_month(rng: random.Random) -> list[BaseRow]:
    rows = []
    days = rng.sample(range(28), rng.randint(1, 20))
    for school in range(1, rng.randint(1, 3) + 1):
        for intent in range(rng.randint(1, 4)):
            for day in days:
                for urgent in (True, False):
                    if rng.random() < 0.3:
                        count = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 9])
                        rows.append(BaseRow(school, f"i{intent}", MONTH + timedelta(days=day), urgent, count))
    return rows


def pinned_cells(rows: list[BaseRow]) -> tuple[list[CellKey], int]:
    table = protect_month(MONTH, rows)
    cells: dict[tuple[int, str, date], list[int]] = {}
    for row in rows:
        cells.setdefault((row.school, row.intent, row.day), [0, 0])[row.urgent] += row.count
    variables = {(*key, u): n for n, (key, u) in enumerate((k, u) for k in cells for u in (0, 1))}

    def members(key: CellKey) -> list[int]:
        measure, school, intent, period = key
        return [
            variables[(s, i, d, u)]
            for (s, i, d) in cells
            for u in ((1,) if measure == URGENT else (0, 1))
            if period.start <= d <= period.end and school in (s, ALL_SCHOOLS) and intent in (i, ALL_INTENTS)
        ]

    published = list(table.cells)
    for school, _, day in cells:  # a zero urgent count is published too: it fixes the urgent parts at 0
        for s in (school, ALL_SCHOOLS):
            key = (URGENT, s, ALL_INTENTS, period_of(day, Granularity.DAY))
            if key not in table.cells:
                published.append(key)
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for key in published:
        vector = np.zeros(len(variables))
        vector[members(key)] = 1
        cell = table.get(key)
        if cell.status == Status.EXACT:
            a_eq.append(vector)
            b_eq.append(cell.value)
        else:
            a_ub.append(-vector)
            b_ub.append(-1)
            if cell.status == Status.SMALL:
                a_ub.append(vector)
                b_ub.append(4)
    pinned = []
    for key in published:
        cell = table.get(key)
        if cell.status == Status.EXACT or not 1 <= cell.value <= 4:
            continue
        objective = np.zeros(len(variables))
        objective[members(key)] = 1
        low = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, A_ub=a_ub, b_ub=b_ub, method="highs")
        high = linprog(-objective, A_eq=a_eq or None, b_eq=b_eq or None, A_ub=a_ub, b_ub=b_ub, method="highs")
        assert low.status == 0
        assert high.status in (0, 3)
        if high.status == 0 and -high.fun - low.fun < 1e-6:
            pinned.append(key)
    return pinned, len(published)


@pytest.mark.parametrize("seed", range(12))
def test_no_hidden_count_is_pinned(seed: int) -> None:
    rows = random_month(random.Random(seed))
    pinned, published = pinned_cells(rows)
    assert published > 0
    assert pinned == []


def test_the_checker_finds_a_pin_when_there_is_one() -> None:
    """Positive control: one small cell under a day total with nothing else that day would be pinned."""
    from casework.stats import cube

    rows = [BaseRow(1, "i0", MONTH, False, 2), BaseRow(1, "i1", MONTH, False, 7)]
    original = cube._protect_school
    try:

        def publish_everything(built: cube._Month) -> tuple[dict[CellKey, cube.Published], int]:
            cells, _ = original(built)
            return {
                k: cube.Published(
                    v.value,
                    Status.EXACT if v.value > 4 or k[0] == URGENT or k[2] == ALL_INTENTS else v.status,
                )
                for k, v in cells.items()
            }, 1

        cube._protect_school = publish_everything
        pinned, _ = pinned_cells(rows)
    finally:
        cube._protect_school = original
    assert (COUNT, 1, "i0", period_of(MONTH, Granularity.DAY)) in pinned
