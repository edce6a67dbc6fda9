"""Protecting many school-months at once, on every core this process may use.

School-months are independent and their protection is deterministic
(`stats_cube`), so they can be protected in any order and in any process
with the same result. The work is cut into units: a settled month's schools
protected side by side (`stats_chains`), in groups of `SCHOOLS_PER_UNIT`
when the work is shared (alone, all of them), and each school-month of a
month still running on its own. This process
protects units, and so do helpers (`Helpers`): light processes started for
it, `python -m casework.stats.worker`, that import protection's modules
alone (NumPy, SciPy, HiGHS: about half a CPU second), not the parent's
`__main__`, as a spawned `multiprocessing` worker does (the CLI's or the
benchmark's every import: about 1.5 CPU s). They are not forked: the parent
runs threads (aiosqlite's, the event loop's). By default there is one helper
per idle core (a busy machine has no core to give), and `sro stats` starts
them before it reads the month's rows, so that they are ready, or nearly,
when the rows are. A helper returns each school's published cells already
`encoding.encode`d: exact values and markers only, the very bytes the cache
keeps. A helper that dies leaves its unit to this process: nothing is lost,
and the tables are the same bytes either way. Within each process, the audit's
proofs run on one thread and one more per idle core no helper took
(`proof_threads`): their programs (HiGHS) and least squares (LAPACK) let go of
the GIL, about a third of protection's time.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, Self

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from casework.stats import chains, cube, encoding
from casework.stats.cube import BaseRow
from casework.stats.periods import month_end

log = logging.getLogger(__name__)

# Fewer school-months than this are protected in this process alone: a helper costs about half a
# CPU second to start.
POOL_MIN_TASKS = 16
# A settled month's schools protected side by side in one unit, at most: units small enough to
# share a month between processes evenly (the side-by-side gain comes from each school's ~31 steps
# laid out together, and is nearly all there with 10 schools).
SCHOOLS_PER_UNIT = 10
_FRAME = struct.Struct("!Q")  # each message: its length, then a pickle


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


class Helpers:
    """Helper processes for `protect_all`, started at once (they import while the caller reads rows).

    Use as a context manager (or `close`): helpers are stopped when the work is done, used or not.
    """

    def __init__(self, count: int) -> None:
        root = str(Path(__file__).resolve().parents[2])  # where `casework` is imported from
        path = os.environ.get("PYTHONPATH")
        environment = {
            **os.environ,
            "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}",
            # One BLAS thread, from the start (`protect_unit` says why): no thread pool to start.
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        self._processes: list[subprocess.Popen[bytes]] = []
        self._ready: list[bool] = []
        self._feeders: list[threading.Thread] = []
        try:
            for _ in range(count):
                self._processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "casework.stats.worker"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        env=environment,
                    )
                )
                self._ready.append(False)
        except OSError as error:  # no helper: this process protects everything
            log.warning("stats.pool could not start a helper (%s): protecting in this process", error)

    def __len__(self) -> int:
        return len(self._processes)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every helper (each has returned all it was given, or its work was redone here)."""
        for process in self._processes:
            process.kill()  # our own child, holding nothing: whatever it was doing is not needed
            process.wait()
        for feeder in self._feeders:  # a feeder still waiting for its helper to be ready sees it end
            feeder.join()
        for process in self._processes:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        self._processes, self._ready, self._feeders = [], [], []

    def feed(self, feeder: threading.Thread) -> None:
        """Start a thread that feeds a helper; `close` waits for it."""
        self._feeders.append(feeder)
        feeder.start()

    def ready(self, number: int) -> bool:
        """Wait until helper `number` has imported what it needs (False: it is gone)."""
        if not self._ready[number]:
            stdout = self._processes[number].stdout
            assert stdout is not None
            try:
                self._ready[number] = _receive(stdout) is True
            except (OSError, EOFError, pickle.UnpicklingError):
                return False
        return self._ready[number]

    def protect(
        self, number: int, unit: list[Task], threads: int = 1
    ) -> dict[tuple[date, int], bytes] | None:
        """`protect_unit(unit, threads)` in helper `number`; None if it is gone (the unit not done)."""
        if not self.ready(number):
            log.warning("stats.pool helper %d did not start: its work is done in this process", number)
            return None
        process = self._processes[number]
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            _send(process.stdin, (unit, threads))
            reply = _receive(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            log.warning("stats.pool helper %d stopped (%s): its work is done in this process", number, error)
            return None
        if reply is None:
            log.warning("stats.pool helper %d stopped: its work is done in this process", number)
            return None
        ok, result = reply
        if not ok:  # protection itself failed: a bug, which this process would meet as well
            raise RuntimeError(f"stats.pool helper {number} failed:\n{result}")
        return result  # type: ignore[no-any-return]


def start_helpers(workers: int | None = None) -> Helpers:
    """Helpers for `protect_all`: one fewer than `workers`, or by default one per idle core.

    A core is idle when the load average leaves it so (`idle_cores`). On a busy machine a helper
    only competes with this process for a core: on 2 cores at load 3.5, one month took 5.4 to
    7.0 s in this process alone and 6.8 to 9.4 s with a helper (its import, and both processes
    slower side by side).
    """
    return Helpers(max(0, idle_cores() if workers is None else workers - 1))


def idle_cores() -> int:
    """The usable cores the last minute's load average leaves idle (rounded), less this process's own.

    On 2 cores: one below a load of 1.5. A helper still helped a little at load 1.6 to 1.9 (one
    month 4.4 to 5.8 s with it, 5.3 to 6.2 s without) and slowed the month down at load 3.5
    (above): the line is drawn on the safe side.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average here: count every core as idle
        load = 0.0
    cores = usable_cores()
    return max(0, min(cores - 1, round(cores - load)))


def protect_all(
    tasks: Sequence[Task],
    workers: int | None = None,
    helpers: Helpers | None = None,
    threads: int | None = None,
) -> dict[tuple[date, int], bytes]:
    """Every task's encoded published cells, by (month, school).

    `helpers`: the processes to share the work with (`start_helpers`, started early by the
    caller, who closes them); without, helpers are started here (`start_helpers`: `workers` - 1,
    by default one per idle core), when there are at least `POOL_MIN_TASKS` tasks. This process
    protects from the start, units from the same queue as the helpers'. `threads`: each process's
    audit proofs on this many threads (by default `proof_threads`, the idle cores no helper took);
    the bytes are the same.
    """
    if helpers is None and len(tasks) >= POOL_MIN_TASKS and (workers is None or workers > 1):
        with start_helpers(None if workers is None else min(workers, len(_units(tasks)))) as own:
            return protect_all(tasks, helpers=own, threads=threads)
    if threads is None:
        threads = proof_threads(len(helpers) if helpers is not None else 0)
    done: dict[tuple[date, int], bytes] = {}
    if helpers is None or not len(helpers):  # alone: each settled month one unit (`stats_chains`)
        _protect_queue(_queue(_units(tasks, whole_months=True)), done, threads)
    else:
        _share(_queue(_units(tasks)), done, helpers, threads)
    return done


def proof_threads(helpers: int = 0) -> int:
    """Threads for a process's audit proofs: one, and one more per idle core (`idle_cores`) that
    none of `helpers` helper processes took.

    A proof's linear program (HiGHS) and least squares (LAPACK) run without the GIL, about a third
    of protection's time (35 to 37 % on bench-storage's month): on a second thread they overlap
    another proof's Python. A helper takes a core whole, and is measured (×1.5 for a month on an
    idle core of two), so idle cores go to helpers first.
    """
    return max(1, 1 + idle_cores() - helpers)


def _queue(units: list[list[Task]]) -> deque[list[Task]]:
    """The biggest units first, so that no process is left with a long one at the end."""
    return deque(
        sorted(units, key=lambda unit: (-sum(len(task.rows) for task in unit), unit[0].month, unit[0].school))
    )


def _share(
    waiting: deque[list[Task]], done: dict[tuple[date, int], bytes], helpers: Helpers, threads: int = 1
) -> None:
    """The units protected by this process and the helpers, from one queue.

    A helper takes a unit only once it is ready (its imports done): if this process empties the
    queue first, nothing waits for it.
    """
    shared = _Shared(waiting, done)

    def feed(number: int) -> None:
        if not helpers.ready(number):
            return
        while (unit := shared.take()) is not None:
            try:
                result = helpers.protect(number, unit, threads)
            except BaseException as error:  # raised again by this process
                shared.fail(error)
                return
            shared.finish(unit, result)
            if result is None:
                return

    for number in range(len(helpers)):
        helpers.feed(threading.Thread(target=feed, args=(number,), daemon=True))
    shared.protect_here(threads)


class _Shared:
    """The queue of units, what is done, and the units the helpers are protecting."""

    def __init__(self, waiting: deque[list[Task]], done: dict[tuple[date, int], bytes]) -> None:
        self.waiting, self.done = waiting, done
        self.lock = threading.Condition()
        self.in_flight = 0
        self.errors: list[BaseException] = []

    def take(self) -> list[Task] | None:
        """A helper's next unit (None: nothing left)."""
        with self.lock:
            if not self.waiting:
                return None
            self.in_flight += 1
            return self.waiting.popleft()

    def finish(self, unit: list[Task], result: dict[tuple[date, int], bytes] | None) -> None:
        """A helper's unit done (None: the helper is gone, and its unit goes back to the queue)."""
        with self.lock:
            if result is None:
                self.waiting.appendleft(unit)
            else:
                self.done.update(result)
            self.in_flight -= 1
            self.lock.notify_all()

    def fail(self, error: BaseException) -> None:
        with self.lock:
            self.errors.append(error)
            self.waiting.clear()
            self.in_flight -= 1
            self.lock.notify_all()

    def protect_here(self, threads: int = 1) -> None:
        """This process's share: units from the queue until it is empty and the helpers are done."""
        while True:
            with self.lock:
                if self.errors:
                    raise self.errors[0]
                if not self.waiting:
                    if self.in_flight == 0:
                        return
                    self.lock.wait()
                    continue
                unit = self.waiting.popleft()
            try:
                result = protect_unit(unit, threads)
            except BaseException:
                with self.lock:
                    self.waiting.clear()  # the helpers stop after their current unit
                raise
            with self.lock:
                self.done.update(result)


def _protect_queue(waiting: deque[list[Task]], done: dict[tuple[date, int], bytes], threads: int = 1) -> None:
    while waiting:
        done.update(protect_unit(waiting.popleft(), threads))


def _units(tasks: Sequence[Task], *, whole_months: bool = False) -> list[list[Task]]:
    """The tasks in units of work: a settled month's school-months in groups of `SCHOOLS_PER_UNIT`
    (in the order of their schools; `whole_months`: all of them), each other task alone."""
    settled: dict[date, list[Task]] = {}
    units: list[list[Task]] = []
    for task in tasks:
        if task.through is None or task.through >= month_end(task.month):
            settled.setdefault(task.month, []).append(task)
        else:
            units.append([task])
    for month_tasks in settled.values():
        month_tasks.sort(key=lambda task: task.school)
        size = len(month_tasks) if whole_months else SCHOOLS_PER_UNIT
        units += [month_tasks[start : start + size] for start in range(0, len(month_tasks), size)]
    return units


def protect_unit(unit: list[Task], threads: int = 1) -> dict[tuple[date, int], bytes]:
    """A unit's school-months protected, as the cache keeps them.

    BLAS on one thread: protection's dense algebra is thousands of small matrices, which
    OpenBLAS's threads make several times slower (on 2 busy cores, an SVD of 520 x 80 took
    35 ms on its threads, 3.5 ms on one); the cores are used by processes instead.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _protect_unit(unit, threads)


def _protect_unit(unit: list[Task], threads: int) -> dict[tuple[date, int], bytes]:
    first = unit[0]
    if len(unit) == 1 and first.through is not None and first.through < month_end(first.month):
        return {(first.month, first.school): protect_encoded(first)}
    protected = chains.protect_schools(first.month, {task.school: task.rows for task in unit}, threads)
    return {
        (first.month, school): encoding.encode(first.month, cube.published(cells))
        for school, cells in protected.items()
    }


def protect_encoded(task: Task) -> bytes:
    """One school-month protected, as the cache keeps it."""
    return encoding.encode(task.month, cube.protect_school(task.month, task.rows, task.through))


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """A helper's loop (`casework.stats.worker`): (unit, threads) in, (ok, encoded cells or the
    error) out, until its input ends; first, True: it is ready."""
    _send(replies, True)
    while True:
        request = _receive(requests)
        if request is None:
            return
        unit, threads = request
        try:
            reply: tuple[bool, Any] = (True, protect_unit(unit, threads))
        except Exception:  # sent to the parent, which raises it
            reply = (False, traceback.format_exc())
        _send(replies, reply)


def _send(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message (None at the end of the stream). Pickles from our own process only: the
    parent and its helpers, over their pipes."""
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("a message cut short")
    return pickle.loads(data)  # noqa: S301 (see the docstring)
