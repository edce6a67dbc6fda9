"""The chain of a month's protections, steps built from their week so far: the whole month's tables.

`cube._protect_school` protects each step before the last over the days of its week only (the
numbers a step adds are tied to nothing else); the oracle below is the chain as it was first
written, every step over the whole month so far. Control: a chain that forgets what earlier
steps published gives other tables on the same months, so the comparison can tell chains apart.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from casework.stats import cube
from casework.stats.cube import BaseRow, CellKey, Published
from casework.stats.disclosure import Status

MONTH = date(2026, 3, 1)  # starts on a Sunday: a clipped first week of one day


def random_school_month(rng: random.Random) -> list[BaseRow]:
    """One school's month with many small counts, as a busy school's statistics look."""
    rows = []
    rates = [rng.uniform(0.05, 1.2) for _ in range(rng.randint(2, 6))]
    for day in range(31):
        for intent, rate in enumerate(rates):
            for urgent in (False, True):
                if rng.random() < rate * (0.15 if urgent else 1.0):
                    count = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 9])
                    rows.append(BaseRow(7, f"intent_{intent}", MONTH + timedelta(days=day), urgent, count))
    return rows


def whole_month_chain(
    rows: list[BaseRow], through: date | None, *, keep_published: bool = True
) -> dict[CellKey, Published]:
    """The oracle: each step of the chain over the whole month so far."""
    built = cube._Month(MONTH, rows, through)
    cells: dict[CellKey, Published] = {}
    for day in cube.checkpoints(built.month, built.rows, built.through):
        step = built if day == built.through else cube._Month(built.month, built.rows, day)
        step.frozen = cells if keep_published else {}
        cells, _ = cube._protect_step(step)
    return cells


@pytest.mark.parametrize("seed", range(6))
def test_the_chain_over_weeks_gives_the_whole_month_chain(seed: int) -> None:
    rng = random.Random(seed)
    rows = random_school_month(rng)
    for through in (None, MONTH + timedelta(days=rng.randint(0, 29))):
        expected = whole_month_chain(rows, through)
        got, _ = cube._protect_school(cube._Month(MONTH, rows, through))
        assert got == expected
        assert any(cell.status != Status.EXACT for cell in got.values())  # something was protected


def test_the_comparison_tells_chains_apart() -> None:
    """Control: forgetting what earlier days published changes some table of these months."""
    differs = 0
    for seed in range(6):
        rows = random_school_month(random.Random(seed))
        differs += whole_month_chain(rows, None) != whole_month_chain(rows, None, keep_published=False)
    assert differs > 0
