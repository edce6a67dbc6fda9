"""Protecting many school-months at once, on every core this process may use.

School-months are independent and their protection is deterministic
(`stats_cube`), so they can be protected in any order and in any process
with the same result. A pool of worker processes is started only when there
is enough work to pay for starting it; the workers are spawned, not forked
(the parent runs threads: aiosqlite's, the event loop's), and each returns a
school's published cells already `cache.encode`d: exact values and
markers only, the very bytes the cache keeps.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

from casework.stats import cache, cube
from casework.stats.cube import BaseRow

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
    """Every task's encoded published cells, by (month, school); `workers` defaults to every usable core."""
    workers = min(usable_cores() if workers is None else workers, len(tasks))
    # The biggest school-months first, so that no worker is left with a long one at the end.
    ordered = sorted(tasks, key=lambda task: (-len(task.rows), task.month, task.school))
    if workers <= 1 or len(tasks) < POOL_MIN_TASKS:
        encoded = [protect_encoded(task) for task in ordered]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            encoded = list(pool.map(protect_encoded, ordered))
    return {(task.month, task.school): cells for task, cells in zip(ordered, encoded, strict=True)}


def protect_encoded(task: Task) -> bytes:
    """One school-month protected, as the cache keeps it."""
    return cache.encode(task.month, cube.protect_school(task.month, task.rows, task.through))
