"""Disclosure control: which published counts must be withheld so no small count can be worked out.

The model is the one an adversary with every output of `sro stats` has: a
system of linear equations (each published total equals the sum of its
parts, in every way it splits), the exact numbers, and bounds — a count
shown as `<5` lies in 1..4, one shown as `x` is at least 1, one never shown
(the urgent/non-urgent split of a cell) is at least 0. A hidden count that
those constraints pin to one value is disclosed.

`protect` finds such pins by bounds propagation over the whole system
(vectorised, integer bounds, to a fixed point) and withholds the
number that made the pin possible: first the exact total of the equation
that pinned it (this is the classic rule "a total with a single hidden
part, or whose hidden parts are all 1s or all 4s, is suppressed"), else a
`<5` total whose upper bound pinned it (four hidden parts under a `<5`
total are all 1s), else an exact part. It repeats until nothing is pinned.
Propagation over integers is at least as strong as any single-equation rule,
and chains of equations (a=6-b, c=3-b, a≤4, c≥1 ⇒ b=2) are caught because
bounds flow through every equation until nothing changes.

Statuses: EXACT (shown), SMALL (`<5`), WITHHELD (`x`), UNPUBLISHED (never
shown, e.g. the urgent part of a cell).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

SMALL_MAX = 4
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class Status(IntEnum):
    EXACT = 0
    SMALL = 1
    WITHHELD = 2
    UNPUBLISHED = 3


@dataclass
class System:
    """Nodes (counts) and equations `parent = sum(children)`, built by `stats_cube`."""

    values: list[int] = field(default_factory=list)
    unpublished: list[bool] = field(default_factory=list)
    level: list[int] = field(default_factory=list)  # higher: a wider total, withheld first
    eq_parent: list[int] = field(default_factory=list)
    entry_eq: list[int] = field(default_factory=list)
    entry_node: list[int] = field(default_factory=list)

    def node(self, value: int, *, level: int, unpublished: bool = False) -> int:
        self.values.append(value)
        self.unpublished.append(unpublished)
        self.level.append(level)
        return len(self.values) - 1

    def equation(self, parent: int, children: list[int]) -> None:
        if not children:
            return
        eq = len(self.eq_parent)
        self.eq_parent.append(parent)
        self.entry_eq.extend([eq] * len(children))
        self.entry_node.extend(children)


@dataclass
class Protection:
    status: npt.NDArray[np.int8]
    passes: int
    fallbacks: int  # times no single number could be blamed and a whole system was withheld


def initial_status(values: Ints, unpublished: npt.NDArray[np.bool_]) -> npt.NDArray[np.int8]:
    status = np.where((values >= 1) & (values <= SMALL_MAX), Status.SMALL, Status.EXACT).astype(np.int8)
    status[unpublished] = Status.UNPUBLISHED
    return status


def bounds(values: Ints, status: npt.NDArray[np.int8]) -> tuple[Floats, Floats]:
    """What the adversary knows of each node before using any equation."""
    lo = values.astype(np.float64)
    hi = lo.copy()
    lo[status == Status.SMALL], hi[status == Status.SMALL] = 1, SMALL_MAX
    lo[status == Status.WITHHELD], hi[status == Status.WITHHELD] = 1, np.inf
    lo[status == Status.UNPUBLISHED], hi[status == Status.UNPUBLISHED] = 0, np.inf
    return lo, hi


class _Equations:
    """The equations in array form, plus each node's equations for blame."""

    def __init__(self, system: System, n_nodes: int) -> None:
        self.parent = np.asarray(system.eq_parent, dtype=np.int64)
        self.entry_eq = np.asarray(system.entry_eq, dtype=np.int64)
        self.entry_node = np.asarray(system.entry_node, dtype=np.int64)
        self.n_eq = len(self.parent)
        self.children: list[list[int]] = [[] for _ in range(self.n_eq)]
        self.of_node: list[list[int]] = [[] for _ in range(n_nodes)]
        for eq, node in zip(system.entry_eq, system.entry_node, strict=True):
            self.children[eq].append(node)
            self.of_node[node].append(eq)
        for eq, parent in enumerate(system.eq_parent):
            self.of_node[parent].append(eq)

    def propagate(self, lo: Floats, hi: Floats) -> tuple[Floats, Floats]:
        """Tighten bounds through every equation until nothing changes (Jacobi rounds, integers)."""
        if self.n_eq == 0:
            return lo, hi
        eq, node, parent = self.entry_eq, self.entry_node, self.parent
        while True:
            c_lo, c_hi = lo[node], hi[node]
            c_inf = np.isinf(c_hi)
            c_hi_finite = np.where(c_inf, 0.0, c_hi)
            s_lo = np.bincount(eq, weights=c_lo, minlength=self.n_eq)
            s_hi = np.bincount(eq, weights=c_hi_finite, minlength=self.n_eq)
            n_inf = np.bincount(eq, weights=c_inf, minlength=self.n_eq)
            new_lo, new_hi = lo.copy(), hi.copy()
            np.maximum.at(new_lo, parent, s_lo)
            np.minimum.at(new_hi, parent, np.where(n_inf > 0, np.inf, s_hi))
            others_hi = np.where(n_inf[eq] - c_inf > 0, np.inf, s_hi[eq] - c_hi_finite)
            np.maximum.at(new_lo, node, lo[parent][eq] - others_hi)
            np.minimum.at(new_hi, node, hi[parent][eq] - (s_lo[eq] - c_lo))
            if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
                return lo, hi
            lo, hi = new_lo, new_hi

    def implied(self, eq: int, node: int, lo: Floats, hi: Floats) -> tuple[float, float]:
        """The bounds equation `eq` alone gives `node`, from everyone else's current bounds."""
        parent, children = int(self.parent[eq]), self.children[eq]
        if node == parent:
            return float(lo[children].sum()), float(hi[children].sum())
        others = [c for c in children if c != node]
        return float(lo[parent] - hi[others].sum()), float(hi[parent] - lo[others].sum())


def protect(
    system: System, withhold: set[int] | None = None, frozen: Mapping[int, Status] | None = None
) -> Protection:
    """The final status of every node: no count of 1..4 that is not shown can be worked out.

    `withhold`: nodes already known to need withholding (from `disclosure_audit`).
    `frozen`: nodes already published with this status (a day of the current month shown
    yesterday): they keep it, whatever it costs the others, since what was shown cannot be taken
    back; only the other nodes are withheld to protect them.
    """
    values = np.asarray(system.values, dtype=np.int64)
    level = np.asarray(system.level, dtype=np.int64)
    status = initial_status(values, np.asarray(system.unpublished, dtype=bool))
    if withhold:
        status[sorted(withhold)] = Status.WITHHELD
    fixed = np.zeros(len(values), dtype=bool)
    if frozen:
        nodes = sorted(frozen)
        status[nodes] = [frozen[n] for n in nodes]
        fixed[nodes] = True
    equations = _Equations(system, len(values))
    small = (values >= 1) & (values <= SMALL_MAX)
    passes = fallbacks = 0
    while True:
        passes += 1
        start_lo, start_hi = bounds(values, status)
        lo, hi = equations.propagate(start_lo.copy(), start_hi.copy())
        if np.any(lo > hi):
            raise AssertionError("disclosure bounds became infeasible: the equations do not match the data")
        # Only published counts are protected: an unpublished part (the urgent share of a cell) that is
        # pinned tells no more than the cell, and if it pins the cell, the cell itself shows up here.
        hidden = (status == Status.SMALL) | (status == Status.WITHHELD)
        pinned = np.flatnonzero(small & hidden & (lo == hi))
        if pinned.size == 0:
            return Protection(status, passes, fallbacks)
        blamed: set[int] = set()
        for node in pinned.tolist():
            culprit = _blame(node, equations, status, values, level, lo, hi, start_lo, start_hi, fixed)
            if culprit is None:
                fallbacks += 1
                log.warning("disclosure.fallback nodes=%d", len(values))
                blamed.update(np.flatnonzero(_loosenable(status, values, fixed)).tolist())
                break
            blamed.add(culprit)
        if not blamed:
            # Only frozen numbers are left to withhold: never the case when what was frozen was
            # itself protected (see stats_cube), so this is a bug, not a reason to publish.
            raise AssertionError("disclosure: a count is pinned and nothing left can be withheld")
        status[list(blamed)] = Status.WITHHELD


def _loosenable(
    status: npt.NDArray[np.int8], values: Ints, fixed: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    loosenable: npt.NDArray[np.bool_] = (
        ((status == Status.EXACT) & (values > 0)) | (status == Status.SMALL)
    ) & ~fixed
    return loosenable


def _blame(
    node: int,
    equations: _Equations,
    status: npt.NDArray[np.int8],
    values: Ints,
    level: Ints,
    lo: Floats,
    hi: Floats,
    start_lo: Floats,
    start_hi: Floats,
    fixed: npt.NDArray[np.bool_],
) -> int | None:
    """The one number to withhold so that `node` is no longer pinned (see the module docstring)."""

    def loosenable(n: int) -> bool:
        return not fixed[n] and bool(
            (status[n] == Status.EXACT and values[n] > 0) or status[n] == Status.SMALL
        )

    def best(candidates: list[int]) -> int | None:
        return min(candidates, key=lambda n: (-level[n], n)) if candidates else None

    seen = {node}
    frontier = [node]
    while frontier:
        reasons: list[int] = []
        own_bound = False
        for target in frontier:
            for eq in equations.of_node[target]:
                implied_lo, implied_hi = equations.implied(eq, target, lo, hi)
                if (implied_lo >= lo[target] > start_lo[target]) or (
                    implied_hi <= hi[target] < start_hi[target]
                ):
                    reasons.append(eq)
            # A `<5` node's own "at most 4" is the only bound that withholding it (as `x`) removes.
            own_bound = own_bound or (status[target] == Status.SMALL and hi[target] == start_hi[target])
        parents = [int(equations.parent[eq]) for eq in reasons]
        choice = best([p for p in parents if p not in frontier and loosenable(p)])
        if choice is None and own_bound:
            choice = best([t for t in frontier if status[t] == Status.SMALL and not fixed[t]])
        if choice is None:
            choice = best(
                [c for eq in reasons for c in equations.children[eq] if c not in frontier and loosenable(c)]
            )
        if choice is not None:
            return choice
        members = {int(equations.parent[eq]) for eq in reasons} | {
            c for eq in reasons for c in equations.children[eq]
        }
        frontier = sorted(m for m in members - seen if status[m] != Status.EXACT)
        seen.update(frontier)
    return None


def protect_steps(
    values: Ints,
    unpublished: npt.NDArray[np.bool_],
    level: Ints,
    eq_parent: Ints,
    entry_eq: Ints,
    entry_node: Ints,
    frozen: npt.NDArray[np.int8],
    system: Ints,
) -> npt.NDArray[np.int8]:
    """`protect` (no `withhold`) of many independent systems at once, laid side by side in arrays.

    Each system is a step of some school's chain: the nodes of one `system` value, some of them
    frozen (`frozen` >= 0: their status, as published), and the equations among them (no equation
    joins two systems). The result is what `protect` gives each system alone: bounds propagate
    within a system only, a pinned node is blamed as `_blame` does, from the same reasons, and when
    nothing can be blamed the whole system, not the whole array, is withheld (every loosenable node
    of the pinned node's system, as `protect` withholds every one of its system).
    """
    status = initial_status(values, unpublished)
    fixed = frozen >= 0
    status[fixed] = frozen[fixed]
    n_eq = len(eq_parent)
    small = (values >= 1) & (values <= SMALL_MAX)
    # Every (equation, node) incidence: the children's entries, then each equation's parent.
    inc_eq = np.concatenate([entry_eq, np.arange(n_eq, dtype=np.int64)])
    inc_node = np.concatenate([entry_node, eq_parent])
    by_node = np.argsort(inc_node, kind="stable")
    node_start = np.searchsorted(inc_node[by_node], np.arange(len(values) + 1))
    by_eq = np.argsort(entry_eq, kind="stable")
    eq_start = np.searchsorted(entry_eq[by_eq], np.arange(n_eq + 1))
    eq_children = entry_node[by_eq]
    equations = _ArrayEquations(eq_parent, entry_eq, entry_node, n_eq)
    active = np.ones(len(values), dtype=bool)  # the nodes of systems whose statuses may still change
    while True:
        start_lo, start_hi = bounds(values, status)
        lo, hi = equations.propagate(start_lo.copy(), start_hi.copy())
        if np.any(lo > hi):
            raise AssertionError("disclosure bounds became infeasible: the equations do not match the data")
        hidden = (status == Status.SMALL) | (status == Status.WITHHELD)
        pinned = np.flatnonzero(small & hidden & (lo == hi) & active)
        if pinned.size == 0:
            return status
        # A system with nothing pinned keeps its statuses, so its bounds and pins stay as they are:
        # the next passes propagate through the systems withheld in this one only.
        active = np.isin(system, system[pinned])
        kept = active[eq_parent]
        equations = _ArrayEquations(
            eq_parent[kept],
            (np.cumsum(kept) - 1)[entry_eq[kept[entry_eq]]],
            entry_node[kept[entry_eq]],
            int(kept.sum()),
        )
        # What `_Equations.implied` gives every incidence, all at once (sums of integers: exact).
        c_lo, c_hi = lo[entry_node], hi[entry_node]
        c_inf = np.isinf(c_hi)
        c_hi_finite = np.where(c_inf, 0.0, c_hi)
        s_lo = np.bincount(entry_eq, weights=c_lo, minlength=n_eq)
        s_hi = np.bincount(entry_eq, weights=c_hi_finite, minlength=n_eq)
        n_inf = np.bincount(entry_eq, weights=c_inf, minlength=n_eq)
        others_hi = np.where(n_inf[entry_eq] - c_inf > 0, np.inf, s_hi[entry_eq] - c_hi_finite)
        implied_lo = np.concatenate([lo[eq_parent][entry_eq] - others_hi, s_lo])
        implied_hi = np.concatenate(
            [hi[eq_parent][entry_eq] - (s_lo[entry_eq] - c_lo), np.where(n_inf > 0, np.inf, s_hi)]
        )
        t_lo, t_hi = lo[inc_node], hi[inc_node]
        reason = ((implied_lo >= t_lo) & (t_lo > start_lo[inc_node])) | (
            (implied_hi <= t_hi) & (t_hi < start_hi[inc_node])
        )
        walk = _Walk(
            reason[by_node],
            inc_eq[by_node],
            node_start,
            eq_parent,
            eq_children,
            eq_start,
            status,
            values,
            level,
            fixed,
            hi,
            start_hi,
        )
        blamed: set[int] = set()
        failed: set[int] = set()
        for node in pinned.tolist():
            if system[node] in failed:
                continue  # its whole system is withheld already (`protect` stops the pass there)
            culprit = walk.blame(node)
            if culprit is None:
                failed.add(int(system[node]))
                log.warning("disclosure.fallback nodes=%d", int((system == system[node]).sum()))
                whole = _loosenable(status, values, fixed) & (system == system[node])
                blamed.update(np.flatnonzero(whole).tolist())
                continue
            blamed.add(culprit)
        if set(system[pinned].tolist()) - set(system[sorted(blamed)].tolist()):
            raise AssertionError("disclosure: a count is pinned and nothing left can be withheld")
        status[list(blamed)] = Status.WITHHELD


class _ArrayEquations(_Equations):
    """`_Equations.propagate` over arrays, without the per-node lists `_blame` walks."""

    def __init__(self, eq_parent: Ints, entry_eq: Ints, entry_node: Ints, n_eq: int) -> None:
        self.parent, self.entry_eq, self.entry_node, self.n_eq = eq_parent, entry_eq, entry_node, n_eq


class _Walk:
    """`_blame`, reading each node's reasons from arrays computed once per pass."""

    def __init__(
        self,
        reason: npt.NDArray[np.bool_],
        inc_eq: Ints,
        node_start: Ints,
        eq_parent: Ints,
        eq_children: Ints,
        eq_start: Ints,
        status: npt.NDArray[np.int8],
        values: Ints,
        level: Ints,
        fixed: npt.NDArray[np.bool_],
        hi: Floats,
        start_hi: Floats,
    ) -> None:
        self.reason, self.inc_eq, self.node_start = reason, inc_eq, node_start
        self.eq_parent, self.eq_children, self.eq_start = eq_parent, eq_children, eq_start
        # Lists, not arrays: the walk reads single nodes, and a list reads one ten times faster.
        self.exact: list[bool] = (status == Status.EXACT).tolist()
        self.free_small: list[bool] = ((status == Status.SMALL) & ~fixed).tolist()
        self.level: list[int] = level.tolist()
        self.loosenable: list[bool] = _loosenable(status, values, fixed).tolist()
        self.own: list[bool] = ((status == Status.SMALL) & (hi == start_hi)).tolist()

    def reasons(self, node: int) -> list[int]:
        a, b = self.node_start[node], self.node_start[node + 1]
        reasons: list[int] = self.inc_eq[a:b][self.reason[a:b]].tolist()
        return reasons

    def children(self, eq: int) -> list[int]:
        children: list[int] = self.eq_children[self.eq_start[eq] : self.eq_start[eq + 1]].tolist()
        return children

    def best(self, candidates: list[int]) -> int | None:
        level = self.level
        return min(candidates, key=lambda n: (-level[n], n)) if candidates else None

    def blame(self, node: int) -> int | None:
        loosenable, exact = self.loosenable, self.exact
        seen = {node}
        frontier = [node]
        while frontier:
            reasons = [eq for target in frontier for eq in self.reasons(target)]
            own_bound = any(self.own[t] for t in frontier)
            parents = self.eq_parent[reasons].tolist()
            choice = self.best([p for p in parents if p not in frontier and loosenable[p]])
            if choice is None and own_bound:
                choice = self.best([t for t in frontier if self.free_small[t]])
            children = [c for eq in reasons for c in self.children(eq)]
            if choice is None:
                choice = self.best([c for c in children if c not in frontier and loosenable[c]])
            if choice is not None:
                return choice
            members = set(parents) | set(children)
            frontier = sorted(m for m in members - seen if not exact[m])
            seen.update(frontier)
        return None
