"""Protecting many school-months at once, on every core this process may use.

School-months are independent and their protection is deterministic
(`stats_cube`), so they can be protected in any order and in any process
with the same result. A pool of worker processes is started only when there
is enough work to pay for starting it, and this process protects too while
it starts; the workers are spawned, not forked
(the parent runs threads: aiosqlite's, the event loop's), and each returns a
school's published cells already `cache.encode`d: exact values and
markers only, the very bytes the cache keeps.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from casework.stats import cache, chains, cube
from casework.stats.cube import BaseRow
from casework.stats.periods import month_end

# Fewer school-months than this are protected in this process: a worker takes about a second to start.
POOL_MIN_TASKS = 16


@dataclass(frozen=True, slots=True)
class Task:
    month: date
    school: int
    rows: list[BaseRow]  # the school's rows of the month
    through: date | None = None  # a month still running: published through this day only


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def protect_all(tasks: Sequence[Task], workers: int | None = None) -> dict[tuple[date, int], bytes]:
    """Every task's encoded published cells, by (month, school); `workers` defaults to every usable core.

    The settled school-months of one month are protected together (`stats_chains`: all schools'
    chains side by side), a unit of work; a month still running is a unit per school. This
    process is one of the workers: it protects from the start, while the others are still
    starting (a spawned worker takes about a second to import what protection needs).
    """
    units = _units(tasks)
    workers = min(usable_cores() if workers is None else workers, len(units))
    # The biggest units first, so that no worker is left with a long one at the end.
    ordered = sorted(
        units, key=lambda unit: (-sum(len(task.rows) for task in unit), unit[0].month, unit[0].school)
    )
    done: dict[tuple[date, int], bytes] = {}
    if workers <= 1 or len(tasks) < POOL_MIN_TASKS:
        for unit in ordered:
            done.update(protect_unit(unit))
        return done
    waiting = deque(ordered)

    def feed(pool: ProcessPoolExecutor) -> None:
        # One unit at a time per process, from the same queue as this process takes its own.
        while True:
            try:
                unit = waiting.popleft()
            except IndexError:
                return
            done.update(pool.submit(protect_unit, unit).result())

    others = workers - 1
    with (
        ProcessPoolExecutor(others, mp_context=multiprocessing.get_context("spawn")) as pool,
        ThreadPoolExecutor(others) as feeders,
    ):
        fed = [feeders.submit(feed, pool) for _ in range(others)]
        try:
            while True:
                try:
                    unit = waiting.popleft()
                except IndexError:
                    break
                done.update(protect_unit(unit))
        except BaseException:
            waiting.clear()  # the others stop after their current unit
            raise
        for feeder in fed:
            feeder.result()  # re-raises a worker's error
    return done


def _units(tasks: Sequence[Task]) -> list[list[Task]]:
    """The tasks in units of work: each month's settled school-months together, each other task alone.

    A month is not split between processes: protected side by side, its 60 schools take about
    4 CPU s, and a spawned worker about 1.5 CPU s to start (more on a busy machine: on 2 cores at
    load 4, one month took 11.5 s with a worker, 6.8 s without).
    """
    settled: dict[date, list[Task]] = {}
    units: list[list[Task]] = []
    for task in tasks:
        if task.through is None or task.through >= month_end(task.month):
            settled.setdefault(task.month, []).append(task)
        else:
            units.append([task])
    return [*settled.values(), *units]


def protect_unit(unit: list[Task]) -> dict[tuple[date, int], bytes]:
    """A unit's school-months protected, as the cache keeps them.

    BLAS on one thread: protection's dense algebra is thousands of small matrices, which
    OpenBLAS's threads make several times slower (on 2 busy cores, an SVD of 520 x 80 took
    35 ms on its threads, 3.5 ms on one); the cores are used by processes instead.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _protect_unit(unit)


def _protect_unit(unit: list[Task]) -> dict[tuple[date, int], bytes]:
    first = unit[0]
    if len(unit) == 1 and first.through is not None and first.through < month_end(first.month):
        return {(first.month, first.school): protect_encoded(first)}
    protected = chains.protect_schools(first.month, {task.school: task.rows for task in unit})
    return {
        (first.month, school): cache.encode(first.month, cube.published(cells))
        for school, cells in protected.items()
    }


def protect_encoded(task: Task) -> bytes:
    """One school-month protected, as the cache keeps it."""
    return cache.encode(task.month, cube.protect_school(task.month, task.rows, task.through))
