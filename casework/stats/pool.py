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
    """Every task's encoded published cells, by (month, school); `workers` defaults to every usable core.

    This process is one of the workers: it protects from the start, while the others are still
    starting (a spawned worker takes about a second to import what protection needs).
    """
    workers = min(usable_cores() if workers is None else workers, len(tasks))
    # The biggest school-months first, so that no worker is left with a long one at the end.
    ordered = sorted(tasks, key=lambda task: (-len(task.rows), task.month, task.school))
    if workers <= 1 or len(tasks) < POOL_MIN_TASKS:
        encoded = [protect_encoded(task) for task in ordered]
        return {(task.month, task.school): cells for task, cells in zip(ordered, encoded, strict=True)}
    waiting = deque(ordered)
    done: dict[tuple[date, int], bytes] = {}

    def feed(pool: ProcessPoolExecutor) -> None:
        # One task at a time per process, from the same queue as this process takes its own.
        while True:
            try:
                task = waiting.popleft()
            except IndexError:
                return
            done[(task.month, task.school)] = pool.submit(protect_encoded, task).result()

    others = workers - 1
    with (
        ProcessPoolExecutor(others, mp_context=multiprocessing.get_context("spawn")) as pool,
        ThreadPoolExecutor(others) as feeders,
    ):
        fed = [feeders.submit(feed, pool) for _ in range(others)]
        try:
            while True:
                try:
                    task = waiting.popleft()
                except IndexError:
                    break
                done[(task.month, task.school)] = protect_encoded(task)
        except BaseException:
            waiting.clear()  # the others stop after their current task
            raise
        for feeder in fed:
            feeder.result()  # re-raises a worker's error
    return done


def protect_encoded(task: Task) -> bytes:
    """One school-month protected, as the cache keeps it."""
    return cache.encode(task.month, cube.protect_school(task.month, task.rows, task.through))
