"""A month shared between this process and a helper process gives the same bytes as one process.

`pool.protect_all` cuts a settled month's schools into units and protects them in this process and
in helpers (`python -m casework.stats.worker`, started by `pool.Helpers`). The tables must be the
bytes one process gives, whichever process protected which unit; a helper that dies leaves its
work to this process; a helper's failure is raised here; and a helper imports protection's
modules only (not the database's), which is what makes it cheap to start.
"""

from __future__ import annotations

import logging
import random
import subprocess
import sys
from datetime import date

import pytest

from casework.stats import cache, pool, report
from casework.stats.cube import ALL_SCHOOLS, COUNT, ZERO
from casework.stats.periods import Granularity, period_of
from tests.casework.test_stats_chains import random_school_month

MONTH = date(2026, 3, 1)


def month_tasks(schools: int, seed: int = 5) -> list[pool.Task]:
    rng = random.Random(seed)
    tasks = []
    for school in range(1, schools + 1):
        rows = random_school_month(rng, MONTH, school)
        if rows:
            tasks.append(pool.Task(MONTH, school, rows))
    return tasks


class CountedHelpers(pool.Helpers):
    """Helpers that count the units they protected."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.units = 0

    def protect(
        self, number: int, unit: list[pool.Task], threads: int = 1
    ) -> dict[tuple[date, int], bytes] | None:
        result = super().protect(number, unit, threads)
        self.units += result is not None
        return result


def test_a_month_shared_with_a_helper_gives_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = month_tasks(24)
    alone = pool.protect_all(tasks, workers=1)
    monkeypatch.setattr(pool, "SCHOOLS_PER_UNIT", 3)
    with CountedHelpers(1) as helpers:
        assert helpers.ready(0)  # imported: it takes units from the start
        shared = pool.protect_all(tasks, helpers=helpers)
    assert helpers.units > 0  # the helper did protect some of the month
    assert shared == alone
    assert len(alone) == len(tasks)


def test_helpers_started_by_protect_all_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = month_tasks(20, seed=6)
    monkeypatch.setattr(pool, "SCHOOLS_PER_UNIT", 4)
    assert pool.protect_all(tasks, workers=2) == pool.protect_all(tasks, workers=1)


def test_a_helper_that_dies_leaves_its_work_here(caplog: pytest.LogCaptureFixture) -> None:
    tasks = month_tasks(8, seed=7)
    alone = pool.protect_all(tasks, workers=1)
    with pool.Helpers(1) as helpers:
        assert helpers.ready(0)
        helpers._processes[0].kill()
        helpers._processes[0].wait()
        with caplog.at_level(logging.WARNING, logger="casework.stats.pool"):
            shared = pool.protect_all(tasks, helpers=helpers)
    assert shared == alone
    assert "its work is done in this process" in caplog.text


def test_a_failure_in_a_helper_is_raised_here() -> None:
    broken = pool.Task(MONTH, 1, [None])  # type: ignore[list-item]
    with pool.Helpers(1) as helpers, pytest.raises(RuntimeError, match="helper 0 failed"):
        helpers.protect(0, [broken])


def test_a_helper_imports_no_database_code() -> None:
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, casework.stats.pool, casework.stats.worker; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'storage')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "[]"


def test_a_report_reads_one_school_as_the_whole_month_gives_it() -> None:
    """`report._Protected` decodes one school's weeks or days alone until the whole level is needed:
    every cell (a school's, all schools', one never published) reads the same either way."""
    tasks = month_tasks(5, seed=8)
    encoded = pool.protect_all(tasks, workers=1)
    months = [cache.SchoolMonth(month, school, blob) for (month, school), blob in sorted(encoded.items())]
    whole = report._Protected(months, all_schools=True)
    keys = [key for granularity in Granularity for key in whole.level(granularity)]
    keys += [
        (COUNT, 999, "i0", period_of(MONTH, Granularity.DAY)),
        (COUNT, 1, "nothing", period_of(MONTH, Granularity.WEEK)),
    ]
    assert any(key[1] == ALL_SCHOOLS for key in keys)
    lazy = report._Protected(months, all_schools=True)
    school_first = sorted(keys, key=lambda key: key[1] == ALL_SCHOOLS)  # each school's cells before the sums
    assert [lazy.get(key) for key in school_first] == [whole.get(key) for key in school_first]
    assert whole.get(keys[-1]) == ZERO
