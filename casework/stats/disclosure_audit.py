"""The exact check behind `disclosure.protect`: linear programming over the month's base counts.

Bounds propagation is fast and catches what any single equation, chain of
equations or `<5` bound gives away, but an adversary with a linear-program
solver can also add and subtract whole equations (for instance: two days'
urgent counts sum to 5, each day's count is at least its urgent count, the
week's three small days sum to 6 — so the third is at most 1). This module
asks the solver directly: for every hidden count of 1..4, its minimum and
maximum over every set of base counts (urgent and non-urgent parts of each
day cell, all ≥ 0) consistent with everything published. Equal minimum and
maximum means disclosed; the published number the solver's certificate
leans on (a non-zero dual value) is withheld and the month is checked again.

To keep the programs small, a published total that is the sum of published
exact parts is left out (it adds nothing), the remaining constraints are
split into independent components, and many cells are cleared at once:
any feasible point where a cell differs from the true data proves that
cell undetermined, so a few programs with random objectives clear most of
them before any cell needs its own pair of programs. Those batch programs
are solved inside a box (every base count capped), so that none is
unbounded and each yields a point; a point of the box is a point of the
adversary's polytope, so the box never clears a cell that is pinned. The
pairs are solved over the real polytope, and each of their optima clears
whatever other cells it moves as well. A solve that fails (anything but
optimal or unbounded) counts as a pin: nothing is published unproven.

All that search is needed only when something is pinned, which is rare once
bounds propagation has run. So each component is first given one program
that proves nothing in it is pinned, or fails to (`_none_pinned`); only if a
component is not proven does the search run, over every component from the
same seed as before, so the findings (and the tables) are the search's own.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

import highspy
import numpy as np
from highspy._core import _Highs
from scipy.linalg import lstsq as dense_lstsq
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr

from casework.stats.disclosure import SMALL_MAX, Status

TOLERANCE = 1e-6
_SMALL_CONE = 40  # columns up to which the cone's span is first tried without a program
_RANK_TOLERANCE = 1e-9
_DENSE_MAX = 200  # columns up to which least squares is solved densely
_DENSE_WORK = 5e7  # ... and beyond, while columns x rows^2 stays under this (few rows: a few ms)
_MOVED = 1e-3  # a target a checked direction changes by more than this is not pinned
FRUITLESS_ROUNDS = 3  # batch rounds that clear nothing before checking cells one by one
BATCH_CAP_MARGIN = 10.0  # the batch phase's box: every base count at most its largest true value + this

log = logging.getLogger(__name__)


class _Outcome(Enum):
    OPTIMAL = "optimal"
    UNBOUNDED = "unbounded"
    FAILED = "failed"


_NO_POINT = np.zeros(0)


@dataclass
class AuditProblem:
    """Base variables (with their true values) and one row per published number."""

    truth: list[float]
    rows: list[list[int]]  # the variables each published number sums
    values: list[int]
    status: list[Status]
    level: list[int]
    finest: list[bool]  # one school, one intent, one day: no published number inside it
    frozen: set[int] = field(default_factory=set)  # already published: never a culprit
    _arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`rows` in arrays, built once: every row's variables in one array, where each row starts
        in it (and ends: the next's start), and `truth`."""
        if self._arrays is None:
            lengths = [len(members) for members in self.rows]
            starts = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=starts[1:])
            flat = np.fromiter(
                (v for members in self.rows for v in members), dtype=np.int64, count=int(starts[-1])
            )
            self._arrays = flat, starts, np.asarray(self.truth, dtype=np.float64)
        return self._arrays

    def gather(self, selected: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The variables of the `selected` rows, in their order, and each one's place in `selected`."""
        flat, starts, _ = self.arrays()
        chosen = np.asarray(selected, dtype=np.int64)
        lengths = starts[chosen + 1] - starts[chosen]
        row_of = np.repeat(np.arange(len(chosen)), lengths)
        first = np.cumsum(lengths) - lengths  # each selected row's place in the result
        return flat[starts[chosen][row_of] + np.arange(int(lengths.sum())) - first[row_of]], row_of


@dataclass(frozen=True, slots=True)
class Finding:
    row: int  # a hidden published number the solver pins
    culprit: int | None  # the published number to withhold (None: nothing to blame)


def _components(problem: AuditProblem, active: Sequence[int]) -> list[list[int]]:
    """The rows in groups that share no base count, each in the order of `active`, the groups in
    the order of their first row (connected components of the rows-and-variables graph)."""
    if not active:
        return []
    members, row_node = problem.gather(active)
    size = len(problem.truth) + len(active)
    row_node = row_node + len(problem.truth)
    graph = csr_matrix((np.ones(len(members)), (row_node, members)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = defaultdict(list)
    for r, label in zip(active, labels[len(problem.truth) :].tolist(), strict=True):
        groups[label].append(r)
    return list(groups.values())


def audit(problem: AuditProblem, redundant: set[int], seed: int = 0) -> list[Finding]:
    """Every hidden published count of 1..4 the constraints pin, with a number to withhold for each."""
    components, audited, duplicates = _audited_components(problem, redundant)
    # Nearly always nothing is pinned: one program per component proves it (`_none_pinned`), and the
    # findings are then the duplicates' alone, as below. Otherwise the search below, from the start,
    # with its own random directions, finds the pins and what they lean on.
    none_pinned = all(
        not targets or _none_pinned(problem, component, targets)
        for component, targets in zip(components, audited, strict=True)
    )
    findings: list[Finding] = []
    rng = random.Random(seed)  # noqa: S311 (search directions, not secrets)
    for component, targets in zip(components, audited, strict=True):
        if targets and not none_pinned:
            for finding in _audit_component(problem, component, targets, rng):
                findings.extend(
                    Finding(row, finding.culprit)
                    for row in [finding.row, *duplicates.get(finding.row, [])]
                    if _is_target(problem, row)
                )
        findings.extend(_duplicate_findings(problem, component, duplicates))
    return findings


def _duplicate_findings(
    problem: AuditProblem, component: list[int], duplicates: dict[int, list[int]]
) -> list[Finding]:
    """A hidden row identical to an exact one is pinned by it, whatever the component says."""
    return [
        Finding(d, r)
        for r in component
        if problem.status[r] == Status.EXACT
        for d in duplicates.get(r, [])
        if _is_target(problem, d)
    ]


def clean_components(
    problem: AuditProblem, redundant: set[int], together: int = 1, threads: int = 1
) -> list[tuple[list[int], bool]]:
    """Every component of `problem` (its rows) and whether it is proven to pin nothing.

    What `audit` would find in a component proven here is nothing: no target of it is pinned and
    no hidden row duplicates an exact one. `problem` may hold many independent systems (the steps
    of many schools' chains, with their own base counts): a component never spans two, so each
    system's findings are empty exactly when all its components are proven.

    `together`: components proven by one `_none_pinned` over their union, as many as this at a
    time (the polytope of independent components is their product: a direction of its cone that
    moves every target of the union moves every target of each). A union not proven is proven
    component by component, as `audit` does.

    `threads`: proofs run on this many threads at once. Each proof reads `problem` only and is the
    same computation on any thread, so the answer is the same; HiGHS and LAPACK let go of the GIL
    while they solve, so a spare core runs one proof's program while another proof's Python runs.
    """
    components, audited, duplicates = _audited_components(problem, redundant)
    proven = [not targets for targets in audited]
    waiting = [i for i, targets in enumerate(audited) if targets]
    chunks = [waiting[start : start + together] for start in range(0, len(waiting), together)]

    def prove(chunk: list[int]) -> list[bool]:
        if len(chunk) > 1 and _none_pinned(
            problem,
            [r for i in chunk for r in components[i]],
            [r for i in chunk for r in audited[i]],
        ):
            return [True] * len(chunk)
        return [_none_pinned(problem, components[i], audited[i]) for i in chunk]

    for chunk, results in zip(chunks, _each(prove, chunks, threads), strict=True):
        for i, result in zip(chunk, results, strict=True):
            proven[i] = result
    return [
        (component, proven[i] and not _duplicate_findings(problem, component, duplicates))
        for i, component in enumerate(components)
    ]


def _each(
    prove: Callable[[list[int]], list[bool]], chunks: list[list[int]], threads: int
) -> list[list[bool]]:
    """`prove` of every chunk, in the chunks' order, on up to `threads` threads.

    A proof that raises stops the others from starting, and its error is raised here.
    """
    if threads <= 1 or len(chunks) <= 1:
        return [prove(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=min(threads, len(chunks)), thread_name_prefix="audit") as executor:
        futures = [executor.submit(prove, chunk) for chunk in chunks]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _audited_components(
    problem: AuditProblem, redundant: set[int]
) -> tuple[list[list[int]], list[list[int]], dict[int, list[int]]]:
    """The components of the rows the audit looks at, each one's targets (empty: nothing to audit),
    and the rows identical to each lead row."""
    active = [r for r, members in enumerate(problem.rows) if members and r not in redundant]
    # Identical rows (one school, one intent that day: the cell, its school's total and the
    # all-schools numbers can be the same sum) are one constraint, and one target; an exact
    # one speaks for the group.
    unique, duplicates = _identical(problem, active)
    components = _components(problem, unique)
    audited: list[list[int]] = []  # each component's targets, empty when it needs no programs
    for component in components:
        targets = [r for r in component if _is_target(problem, r)]
        # A component of numbers all published before, with the statuses they were shown with, is the
        # very component the previous step audited (components only merge when a new number joins
        # them): nothing in it can be pinned now that was not then.
        unchanged = bool(problem.frozen) and all(
            r in problem.frozen for lead in component for r in [lead, *duplicates.get(lead, [])]
        )
        audited.append(targets if targets and not unchanged else [])
    return components, audited, duplicates


def _identical(problem: AuditProblem, active: list[int]) -> tuple[list[int], dict[int, list[int]]]:
    """One lead row of each group of `active` rows over the same base counts (an exact one if any,
    else the first), in the order of each group's first row, and the other rows of each group.

    In arrays where every row's base counts are strictly increasing (as `cube` builds them): rows
    are grouped by their length and two sums of mixed base counts, and every group of more than
    one row is checked to be one set (else, and otherwise, each row is keyed by its set).
    """
    members, row_of = problem.gather(active)
    if len(active) and (members[1:] > members[:-1])[row_of[1:] == row_of[:-1]].all():
        found = _identical_arrays(problem, active, members, row_of)
        if found is not None:
            return found
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for r in active:
        groups[tuple(sorted(set(problem.rows[r])))].append(r)
    duplicates: dict[int, list[int]] = {}
    unique = []
    for rows in groups.values():
        lead = rows[0] if len(rows) == 1 else _lead(problem, rows)
        unique.append(lead)
        if len(rows) > 1:
            duplicates[lead] = [r for r in rows if r != lead]
    return unique, duplicates


def _lead(problem: AuditProblem, rows: list[int]) -> int:
    return min(rows, key=lambda r: (problem.status[r] != Status.EXACT, r))


def _identical_arrays(
    problem: AuditProblem, active: list[int], members: np.ndarray, row_of: np.ndarray
) -> tuple[list[int], dict[int, list[int]]] | None:
    """`_identical` in arrays (None: two rows keyed alike are not one set)."""
    count = len(active)
    placed = np.cumsum(np.bincount(row_of, minlength=count))
    begins = np.concatenate([[0], placed[:-1]])
    with np.errstate(over="ignore"):
        mixed = members.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        mixed ^= mixed >> np.uint64(29)
        other = mixed * np.uint64(0xBF58476D1CE4E5B9)
        other ^= other >> np.uint64(32)
        first_sum = np.add.reduceat(mixed, begins)
        second_sum = np.add.reduceat(other, begins)
    lengths = placed - begins
    order = np.lexsort((second_sum, first_sum, lengths))  # stable: each group's rows in order
    new = np.zeros(count, dtype=bool)  # where each group starts, in `order`
    new[0] = True
    for key in (lengths, first_sum, second_sum):
        sorted_key = key[order]
        new[1:] |= sorted_key[1:] != sorted_key[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, count))
    rows_of_active = np.asarray(active, dtype=np.int64)
    leads = rows_of_active[order[starts]]  # each group's first row, until an exact lead is chosen
    duplicates: dict[int, list[int]] = {}
    for g in np.flatnonzero(sizes > 1).tolist():
        rows = rows_of_active[order[starts[g] : starts[g] + sizes[g]]].tolist()
        if any(problem.rows[r] != problem.rows[rows[0]] for r in rows[1:]):
            return None
        lead = _lead(problem, rows)
        leads[g] = lead
        duplicates[lead] = [r for r in rows if r != lead]
    first = order[starts]  # each group's first row's place in `active`
    return leads[np.argsort(first, kind="stable")].tolist(), duplicates


def _is_target(problem: AuditProblem, row: int) -> bool:
    return problem.status[row] in (Status.SMALL, Status.WITHHELD) and 1 <= problem.values[row] <= SMALL_MAX


def _audit_component(
    problem: AuditProblem, rows: list[int], targets: list[int], rng: random.Random
) -> list[Finding]:
    variables = sorted({v for r in rows for v in problem.rows[r]})
    column = {v: i for i, v in enumerate(variables)}
    truth = np.array([problem.truth[v] for v in variables])
    solver = _Solver(problem, *_lp_bounds(problem, rows), column)
    target_matrix = _matrix(problem, targets, column)
    true_values = target_matrix @ truth
    cleared = np.zeros(len(targets), dtype=bool)

    def clear(point: np.ndarray) -> None:
        # Any feasible point where a cell differs from the true data proves that cell undetermined.
        cleared[np.abs(target_matrix @ point - true_values) > TOLERANCE] = True

    # Batch phase, inside a box: with every base count capped, no objective is unbounded (a hidden
    # `x` total has no upper bound), so every solve yields a point. A point of the box is a point of
    # the adversary's polytope, so whatever it clears is truly undetermined; the cap only ever makes
    # fewer points available, never more.
    solver.cap(float(truth.max(initial=0.0)) + BATCH_CAP_MARGIN)
    fruitless = 0
    while not cleared.all() and fruitless < FRUITLESS_ROUNDS:
        before = int(cleared.sum())
        # Push the uncleared cells away from their true values (mostly towards the side with more
        # room), with a little noise on every base count so that ties break differently each time.
        weights = np.array(
            [
                0.0 if c else (-1.0 if rng.random() < (0.8 if v <= 2 else 0.2) else 1.0)
                for c, v in zip(cleared, true_values, strict=True)
            ]
        )
        noise = np.array([rng.uniform(-0.01, 0.01) for _ in variables])
        outcome, point = solver.minimise(target_matrix.T @ weights + noise)
        if outcome == _Outcome.OPTIMAL:
            clear(point)
        fruitless = 0 if cleared.sum() > before else fruitless + 1
    solver.cap(highspy.kHighsInf)
    # Cell by cell, over the real (uncapped) polytope: the minimum and maximum of each cell not yet
    # cleared. Every optimum found on the way is a feasible point too, and clears other cells.
    findings = []
    for index in range(len(targets)):
        if cleared[index]:
            continue
        objective = target_matrix[index].toarray().ravel()
        pinned, leaning = True, set[int]()
        for sign in (1.0, -1.0):
            outcome, point = solver.minimise(sign * objective)
            if outcome == _Outcome.UNBOUNDED:
                pinned = False
                break
            if outcome == _Outcome.FAILED:  # never publish what was not proven safe
                log.warning("disclosure.audit solver failure; the cell is treated as pinned")
                leaning.clear()
                break
            clear(point)
            if cleared[index]:
                pinned = False  # a different value is feasible
                break
            leaning |= solver.binding_rows()
        if pinned:
            findings.append(Finding(targets[index], _culprit(problem, leaning)))
    return findings


def _none_pinned(problem: AuditProblem, rows: list[int], targets: list[int]) -> bool:
    """True when no target of the component can be pinned: proven, never guessed (False: not proven).

    A target is pinned when it is constant over the adversary's polytope P (the program of
    `_audit_component`). P is convex and holds the true data x0, so a target is constant on P
    exactly when it is constant on the cone of directions d leaving x0 into P: every exact row
    unchanged (E d = 0), and every bound x0 sits on kept (G d >= 0: a base count of 0 does not
    fall, a `<5` of 4 does not rise, a finest `<5` or `x` of 1 does not fall). That cone spans
    the directions that also keep its implicit equalities (the rows of G that no direction can
    move), and one program finds them all: maximise the sum of t_i <= min(1, g_i d) over d
    (a cone: every row that can rise reaches 1 at once, and only those). A target that some
    direction of that span moves is not pinned; the direction found, and a random direction of
    the span, are each checked against the rows before they count.
    """
    n, equal_rows, kept_rows, target_rows = _cone(problem, rows, targets)
    if n <= _SMALL_CONE and _span_moves_all(equal_rows, kept_rows, target_rows, n):
        return True
    direction_rows = equal_rows
    if len(kept_rows):
        solution = _optimum(_cone_program(equal_rows, kept_rows, n))
        if solution is None:  # never proven: the search decides
            return False
        direction, rises = solution[:n], solution[n:]
        moving = rises > 0.5
        # Checked, not trusted: the direction keeps every exact row and every bound, and lifts
        # every row said to move.
        lifted = kept_rows.times(direction)
        if (
            np.abs(equal_rows.times(direction)).max(initial=0.0) > TOLERANCE
            or lifted.min(initial=0.0) < -TOLERANCE
            or lifted[moving].min(initial=1.0) < 1.0 - TOLERANCE
        ):
            return False
        moved = np.abs(target_rows.times(direction)) > _MOVED
        if moved.all():
            return True
        direction_rows = equal_rows.join(kept_rows.take(~moving))
        target_rows = target_rows.take(~moved)
    # A random direction of the span: the moving rows, tight at x0 but lifted by `direction`,
    # allow a small step of it from `direction` (so it leads into P as well).
    step = _span_step(direction_rows, n)
    return step is not None and bool((np.abs(target_rows.times(step)) > _MOVED).all())


def _cone(problem: AuditProblem, rows: list[int], targets: list[int]) -> tuple[int, _Rows, _Rows, _Rows]:
    """The component's columns, and the rows of E, of G and of the targets (see `_none_pinned`).

    In arrays: every row's base counts at once, mapped to the component's columns, sorted and
    without repeats within a row (as a set would), then each kind of row taken from them."""
    lp_rows, lower, upper = _lp_bounds(problem, rows)
    selected = [*lp_rows, *targets]
    variables = np.unique(problem.gather(rows)[0])  # the columns: every base count of the component
    n = len(variables)
    truth = problem.arrays()[2][variables]
    members, row_of = problem.gather(selected)
    columns = np.searchsorted(variables, members)
    order = np.lexsort((columns, row_of))
    columns, row_of = columns[order], row_of[order]
    keep = np.ones(len(columns), dtype=bool)
    keep[1:] = (columns[1:] != columns[:-1]) | (row_of[1:] != row_of[:-1])
    columns, row_of = columns[keep], row_of[keep]
    starts = np.searchsorted(row_of, np.arange(len(selected) + 1))
    first = len(lp_rows)
    values = np.bincount(row_of, weights=truth[columns], minlength=len(selected))[:first]
    low, high = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    # Each LP row is an equality, or a bound the true data sits on (its lower first), or neither.
    equal = low == high
    at_low = ~equal & (np.abs(values - low) <= TOLERANCE)
    at_high = ~equal & ~at_low & (np.abs(values - high) <= TOLERANCE)
    tight = np.flatnonzero(at_low | at_high)
    zero = np.flatnonzero(truth <= TOLERANCE)  # a base count of 0: a row of G of its own
    kept = _Rows.of(starts, columns, tight, np.where(at_low[tight], 1.0, -1.0), n).join(
        _Rows(np.arange(len(zero) + 1, dtype=np.int64), zero, np.ones(len(zero)), n)
    )
    everywhere = np.arange(first, len(selected))
    return (
        n,
        _Rows.of(starts, columns, np.flatnonzero(equal), np.ones(int(equal.sum())), n),
        kept,
        _Rows.of(starts, columns, everywhere, np.ones(len(everywhere)), n),
    )


def _span_moves_all(equal: _Rows, kept: _Rows, targeted: _Rows, n: int) -> bool:
    """For a small cone, without a program: True if a subspace of its span moves every target.

    Rows of G are set aside as "can rise" in rounds: a row of the tight set J whose removal lowers
    the rank of J (within E's null space) can be lifted alone, all of them at once, by a direction
    keeping E and the rest of J at 0 (solved for, and checked); rows lifted in earlier rounds stay
    positive for a small enough step of it. What is left of J holds every implicit equality, so
    the null space of E and J lies in the cone's span, and a target it moves is not pinned.
    """
    e_basis = _null_space(equal.dense(), n)
    if e_basis.shape[1] == 0:
        return False
    tight = kept.dense() @ e_basis  # G within E's null space
    while len(tight):
        left = _null_space(tight.T, len(tight))  # combinations of J's rows that vanish
        alone = np.abs(left).max(axis=1, initial=0.0) <= _RANK_TOLERANCE
        if not alone.any():
            break
        lift = np.linalg.lstsq(tight, alone.astype(float), rcond=None)[0]
        if np.abs(tight @ lift - alone).max() > _RANK_TOLERANCE:  # checked, not trusted
            return False
        tight = tight[~alone]
    span = e_basis @ _null_space(tight, e_basis.shape[1]) if len(tight) else e_basis
    return bool((np.abs(targeted.dense() @ span).max(axis=1, initial=0.0) > _MOVED).all())


def _null_space(matrix: np.ndarray, n: int) -> np.ndarray:
    """An orthonormal basis of the vectors the matrix's rows send to 0 (columns)."""
    if len(matrix) == 0:
        return np.eye(n)
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > _RANK_TOLERANCE * max(1.0, singular[0])).sum())
    return np.asarray(vt[rank:].T)


def _cone_program(equal: _Rows, kept: _Rows, n: int) -> highspy.HighsLp:
    """Columns d (free), then t (0..1); rows E d = 0, then G d - t >= 0; minimise -sum(t)."""
    m = len(kept)
    # Each row's columns in one array, then each row of G's own t at its end.
    sizes = np.concatenate([np.diff(equal.starts), np.diff(kept.starts) + 1])
    start = np.zeros(len(sizes) + 1, dtype=np.int32)
    np.cumsum(sizes, out=start[1:])
    own = start[len(equal) + 1 :] - 1  # where each row of G's t goes
    index = np.empty(int(start[-1]), dtype=np.int32)
    value = np.repeat(np.concatenate([equal.signs, kept.signs]), sizes)
    placed = np.ones(len(index), dtype=bool)
    placed[own] = False
    index[placed] = np.concatenate([equal.columns, kept.columns])
    index[own] = np.arange(n, n + m)
    value[own] = -1.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n + m, len(equal) + m
    lp.col_cost_ = np.concatenate([np.zeros(n), -np.ones(m)])
    lp.col_lower_ = np.concatenate([np.full(n, -highspy.kHighsInf), np.zeros(m)])
    lp.col_upper_ = np.concatenate([np.full(n, highspy.kHighsInf), np.ones(m)])
    lp.row_lower_ = np.zeros(len(equal) + m)
    lp.row_upper_ = np.concatenate([np.zeros(len(equal)), np.full(m, highspy.kHighsInf)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    return lp


def _span_step(rows: _Rows, n: int) -> np.ndarray | None:
    """A random vector less its projection on the rows (least squares): checked to keep them all."""
    step = np.random.default_rng(0).standard_normal(n)
    if not len(rows):
        return step
    matrix = rows.matrix()
    if n <= _DENSE_MAX or n * len(rows) ** 2 <= _DENSE_WORK:
        dense = matrix.toarray()
        step -= dense.T @ dense_lstsq(dense.T, step, lapack_driver="gelsy", check_finite=False)[0]
    else:
        step -= matrix.T @ lsqr(matrix.T, step, atol=1e-14, btol=1e-14, iter_lim=20 * n)[0]
    return step if np.abs(matrix @ step).max() <= TOLERANCE else None


class _Rows:
    """Sparse rows over a component's `n` columns, all entries of a row of one sign: where each row
    starts in `columns` (and ends: the next's start), and each row's sign."""

    def __init__(self, starts: np.ndarray, columns: np.ndarray, signs: np.ndarray, n: int) -> None:
        self.starts, self.columns, self.signs, self.n = starts, columns, signs, n
        sizes = np.diff(starts)
        self.row_of = np.repeat(np.arange(len(signs)), sizes)
        self.values = np.repeat(signs, sizes)

    @classmethod
    def of(
        cls, starts: np.ndarray, columns: np.ndarray, chosen: np.ndarray, signs: np.ndarray, n: int
    ) -> _Rows:
        """The `chosen` rows (in that order) of the rows `starts` cuts `columns` into."""
        lengths = starts[chosen + 1] - starts[chosen]
        new_starts = np.zeros(len(chosen) + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_starts[1:])
        place = np.repeat(starts[chosen] - new_starts[:-1], lengths) + np.arange(int(new_starts[-1]))
        return cls(new_starts, columns[place], signs, n)

    def __len__(self) -> int:
        return len(self.signs)

    def take(self, chosen: np.ndarray) -> _Rows:
        """The rows where `chosen` (a mask) is true, in order."""
        return _Rows.of(self.starts, self.columns, np.flatnonzero(chosen), self.signs[chosen], self.n)

    def join(self, other: _Rows) -> _Rows:
        """These rows, then `other`'s."""
        return _Rows(
            np.concatenate([self.starts, other.starts[1:] + self.starts[-1]]),
            np.concatenate([self.columns, other.columns]),
            np.concatenate([self.signs, other.signs]),
            self.n,
        )

    def times(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.row_of, weights=self.values * x[self.columns], minlength=len(self))

    def matrix(self) -> csr_matrix:
        return csr_matrix((self.values, self.columns, self.starts), shape=(len(self), self.n))

    def dense(self) -> np.ndarray:
        matrix = np.zeros((len(self), self.n))
        matrix[self.row_of, self.columns] = self.values
        return matrix


def _optimum(lp: highspy.HighsLp) -> np.ndarray | None:
    """The optimal point of a program (None if the solver finds none)."""
    highs = _Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)  # a small program: threads cost more than they give
    highs.passModel(lp)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.array(highs.getSolution().col_value)


def _lp_bounds(problem: AuditProblem, rows: list[int]) -> tuple[list[int], list[float], list[float]]:
    """The LP's rows (published numbers) and their lower and upper bounds, as the adversary knows them.

    One LP row per published number: exact = value; `<5` ≤ 4 (and ≥ 1 for the finest numbers);
    `x` ≥ 1 for the finest numbers. Wider numbers' "at least 1" follows from the finest ones.
    """
    lp_rows: list[int] = []
    lower: list[float] = []
    upper: list[float] = []
    statuses, values, finest = problem.status, problem.values, problem.finest
    exact, small, infinite = Status.EXACT, Status.SMALL, highspy.kHighsInf
    for r in rows:
        status = statuses[r]
        if status == exact:
            low = high = float(values[r])
        elif status == small:
            low, high = (1.0 if finest[r] else -infinite), float(SMALL_MAX)
        elif finest[r]:
            low, high = 1.0, infinite
        else:
            continue
        lp_rows.append(r)
        lower.append(low)
        upper.append(high)
    return lp_rows, lower, upper


def _matrix(problem: AuditProblem, selected: list[int], column: dict[int, int]) -> csr_matrix:
    data, indices, indptr = [], [], [0]
    for r in selected:
        cols = sorted({column[v] for v in problem.rows[r]})
        indices.extend(cols)
        data.extend([1.0] * len(cols))
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(selected), len(column)))


class _Solver:
    """One HiGHS model per component; only the objective changes between solves (warm starts).

    Uses highspy's core class: the public `highspy.Highs` wrapper prints a
    banner on stdout when created, which would corrupt `sro stats --format json`.
    """

    def __init__(
        self,
        problem: AuditProblem,
        rows: list[int],
        lower: list[float],
        upper: list[float],
        column: dict[int, int],
    ) -> None:
        self.rows = rows
        matrix = _matrix(problem, rows, column)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(column), len(rows)
        lp.col_cost_ = np.zeros(len(column))
        lp.col_lower_ = np.zeros(len(column))
        lp.col_upper_ = np.full(len(column), highspy.kHighsInf)
        lp.row_lower_ = np.array(lower)
        lp.row_upper_ = np.array(upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (
            matrix.indptr,
            matrix.indices,
            matrix.data,
        )
        self.highs = _Highs()
        self.highs.setOptionValue("output_flag", False)
        # One thread, as `_optimum`'s: a thread's first program sets the size of its HiGHS scheduler,
        # and a later program asking for another size fails to run (with the default here first,
        # every `_optimum` after it on that thread failed, so no proof succeeded there). An LP is
        # solved by the serial dual simplex either way: the same points and duals.
        self.highs.setOptionValue("threads", 1)
        self.highs.passModel(lp)
        self.columns = np.arange(len(column), dtype=np.int32)

    def cap(self, upper: float) -> None:
        """Give every base count this upper bound (`highspy.kHighsInf`: none)."""
        self.highs.changeColsBounds(
            len(self.columns), self.columns, np.zeros(len(self.columns)), np.full(len(self.columns), upper)
        )

    def minimise(self, objective: np.ndarray) -> tuple[_Outcome, np.ndarray]:
        """The optimal point; or UNBOUNDED (the objective has no minimum), or FAILED (anything else)."""
        self.highs.changeColsCost(len(self.columns), self.columns, objective.astype(np.float64))
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return _Outcome.OPTIMAL, np.array(self.highs.getSolution().col_value)
        # The true data is a feasible point, so "unbounded or infeasible" (from presolve) is unbounded.
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return _Outcome.UNBOUNDED, _NO_POINT
        return _Outcome.FAILED, _NO_POINT

    def binding_rows(self) -> set[int]:
        """Published numbers with a non-zero dual value in the last optimum: what the optimum leans on."""
        duals = self.highs.getSolution().row_dual
        return {r for r, dual in zip(self.rows, duals, strict=True) if abs(dual) > TOLERANCE}


def _culprit(problem: AuditProblem, leaning: set[int]) -> int | None:
    """The number to withhold among those the certificates lean on: an exact total first, widest first."""
    candidates = [
        r
        for r in leaning
        if problem.values[r] > 0
        and problem.status[r] in (Status.EXACT, Status.SMALL)
        and r not in problem.frozen
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda r: (problem.status[r] != Status.EXACT, -problem.level[r], r))
