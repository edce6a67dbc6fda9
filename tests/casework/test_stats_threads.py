"""The audit's proofs on several threads give the same answers, in the same order, as on one.

`disclosure_audit.clean_components` runs its proofs (`_none_pinned`, one per component or per
group of components) on `threads` threads: HiGHS and LAPACK release the GIL, so a second core
runs one proof's program while another's Python runs. Each proof only reads the problem, so the
answers must be those of one thread, matched to their components whatever order the threads
finish in; a proof that raises must raise in the caller; and the protected months must be the
same bytes with 1 and N threads, alone and in a helper process.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import date

import pytest

from casework.stats import chains, disclosure_audit, pool
from tests.casework.test_stats_chains import random_month
from tests.casework.test_stats_pool import month_tasks


class CountedHelpers(pool.Helpers):
    """Helpers that note the threads they are told to use."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.threads: set[int] = set()

    def protect(
        self, number: int, unit: list[pool.Task], threads: int = 1
    ) -> dict[tuple[date, int], bytes] | None:
        self.threads.add(threads)
        return super().protect(number, unit, threads)


@pytest.fixture
def problems(monkeypatch: pytest.MonkeyPatch) -> list[tuple[disclosure_audit.AuditProblem, set[int], int]]:
    """The audit problems (and redundant rows, and `together`) of random months' side-by-side steps."""
    seen: list[tuple[disclosure_audit.AuditProblem, set[int], int]] = []
    original = disclosure_audit.clean_components

    def kept(
        problem: disclosure_audit.AuditProblem, redundant: set[int], together: int = 1, threads: int = 1
    ) -> list[tuple[list[int], bool]]:
        seen.append((problem, redundant, together))
        return original(problem, redundant, together, threads)

    monkeypatch.setattr(chains, "clean_components", kept)
    for seed in range(3):
        chains.protect_schools(*random_month(seed))
    monkeypatch.undo()
    return seen


@pytest.fixture
def proofs_by_thread(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the threads that ran a proof."""
    names: set[str] = set()
    proof = disclosure_audit._none_pinned

    def recorded(problem: disclosure_audit.AuditProblem, rows: list[int], targets: list[int]) -> bool:
        names.add(threading.current_thread().name)
        return proof(problem, rows, targets)

    monkeypatch.setattr(disclosure_audit, "_none_pinned", recorded)
    return names


def test_proofs_on_threads_answer_as_on_one(
    problems: list[tuple[disclosure_audit.AuditProblem, set[int], int]], proofs_by_thread: set[str]
) -> None:
    assert len(problems) >= 9  # three kinds of steps, three months
    unproven = 0
    for problem, redundant, together in problems:
        one = disclosure_audit.clean_components(problem, redundant, together, threads=1)
        three = disclosure_audit.clean_components(problem, redundant, together, threads=3)
        assert three == one
        unproven += sum(not clean for _, clean in one)
    assert any(name.startswith("audit") for name in proofs_by_thread)  # threads did run proofs
    assert threading.current_thread().name in proofs_by_thread  # ... and one thread alone as well
    assert unproven > 0  # control: answers differ between components, so a mix-up would show


def test_answers_go_to_their_components_whatever_order_threads_finish_in(
    problems: list[tuple[disclosure_audit.AuditProblem, set[int], int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proofs that finish in a scrambled order (each waits a random while): every answer still
    goes to its own component."""
    rng = random.Random(3)
    lock = threading.Lock()

    def scrambled(problem: disclosure_audit.AuditProblem, rows: list[int], targets: list[int]) -> bool:
        with lock:
            pause = rng.uniform(0, 0.003)
        time.sleep(pause)
        return len(rows) % 3 != 0  # an answer that differs between components

    monkeypatch.setattr(disclosure_audit, "_none_pinned", scrambled)
    problem, redundant, _ = max(problems, key=lambda p: (p[2], len(p[0].rows)))  # the most: days
    one = disclosure_audit.clean_components(problem, redundant, 1, threads=1)
    assert len(one) > 20
    assert {clean for _, clean in one} == {True, False}
    for _ in range(3):
        assert disclosure_audit.clean_components(problem, redundant, 1, threads=4) == one


def test_a_proof_that_raises_on_a_thread_raises_in_the_caller(
    problems: list[tuple[disclosure_audit.AuditProblem, set[int], int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    lock = threading.Lock()

    def failing(problem: disclosure_audit.AuditProblem, rows: list[int], targets: list[int]) -> bool:
        nonlocal calls
        with lock:
            calls += 1
            if calls == 3:
                raise ValueError("a proof failed")
        return True

    monkeypatch.setattr(disclosure_audit, "_none_pinned", failing)
    problem, redundant, _ = max(problems, key=lambda p: len(p[0].rows))
    with pytest.raises(ValueError, match="a proof failed"):
        disclosure_audit.clean_components(problem, redundant, 1, threads=2)
    assert not [t for t in threading.enumerate() if t.name.startswith("audit")]  # none left running


def test_a_month_protected_with_threads_is_the_same_bytes() -> None:
    tasks = month_tasks(12, seed=9)
    alone = pool.protect_all(tasks, workers=1, threads=1)
    assert pool.protect_all(tasks, workers=1, threads=3) == alone
    with pool.Helpers(1) as helpers:  # a helper told to use threads as well
        assert helpers.ready(0)
        assert helpers.protect(0, tasks, threads=2) == alone


def test_a_thread_that_searched_first_proves_as_a_fresh_one(
    problems: list[tuple[disclosure_audit.AuditProblem, set[int], int]],
) -> None:
    """A thread's first HiGHS program sets the size of its scheduler: the search's programs must not
    leave a thread where the proofs' programs fail to run (they did when the search asked for the
    default number of threads and the proofs for one)."""
    problem, redundant, _ = max(problems, key=lambda p: len(p[0].rows))  # a month: large components
    components, audited, _ = disclosure_audit._audited_components(problem, redundant)
    work = [(rows, targets) for rows, targets in zip(components, audited, strict=True) if targets]
    answers: dict[str, list[bool]] = {}

    def prove(name: str, search_first: bool) -> None:
        if search_first:
            rows, targets = work[0]
            disclosure_audit._audit_component(problem, rows, targets, random.Random(0))
        answers[name] = [disclosure_audit._none_pinned(problem, rows, targets) for rows, targets in work]

    for name, search_first in (("fresh", False), ("searched", True)):
        thread = threading.Thread(target=prove, args=(name, search_first))
        thread.start()
        thread.join()
    assert any(answers["fresh"])  # control: these components are proven by a program
    assert answers["searched"] == answers["fresh"]


def test_idle_cores_go_to_helpers_before_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """One idle core: a month shared with a helper runs every proof on one thread (in this process
    and in the helper); protected alone, this process takes the core as a second thread."""
    given: list[int] = []
    protect_unit = pool.protect_unit

    def recorded(unit: list[pool.Task], threads: int = 1) -> dict[tuple[date, int], bytes]:
        given.append(threads)
        return protect_unit(unit, threads)

    monkeypatch.setattr(pool, "idle_cores", lambda: 1)
    monkeypatch.setattr(pool, "protect_unit", recorded)
    monkeypatch.setattr(pool, "SCHOOLS_PER_UNIT", 3)
    tasks = month_tasks(pool.POOL_MIN_TASKS, seed=10)
    with CountedHelpers(1) as helpers:
        assert helpers.ready(0)
        shared = pool.protect_all(tasks, helpers=helpers)
    assert helpers.threads == {1}
    assert given  # this process protected some units
    assert set(given) == {1}
    given.clear()
    assert pool.protect_all(tasks, workers=1) == shared
    assert given == [2]
