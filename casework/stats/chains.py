"""Every school's chain of a settled month, protected step by step for all schools at once.

`cube._protect_school` protects a month as a chain (see `stats_cube`): one step for each day that
adds numbers, each over the system of its week so far, with what earlier steps published frozen.
Those steps fall into three kinds, and the steps of one kind never depend on each other:

1. a day that ends no week: its numbers are tied only to each other (the week's and the month's
   totals are not published yet), so its step is the system of that day alone (the earlier days
   of its week sit in components of their own, frozen, that no new number joins);
2. the last day of a week that ends before the month: that day's numbers and the week's totals,
   over the week's days (frozen, from kind 1);
3. the month's last day: the last week's and the month's totals, over the whole month.

So all schools' steps of one kind are laid side by side in arrays and protected together: bounds
propagation and blame in one pass over all of them (`disclosure.protect_steps`, which withholds
within a step's system only), then the audit's proof, component by component, exactly as the
step's own audit would run it (`disclosure_audit.clean_components`: the same rows in the same
order, so the same programs). A step whose components are all proven is what `cube._protect_step`
gives in its first round. A step with anything unproven (the rare case where the audit's search
must run, its culprits be withheld and the step audited again) is protected by `cube._protect_step`
itself, over the very system the chain builds for it. The tables are the chain's, byte for byte
(tests/casework/test_stats_chains.py compares them on random months and on the benchmark's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from itertools import repeat

import numpy as np

from casework.stats import cube
from casework.stats.cube import BaseRow, CellKey, Published
from casework.stats.disclosure import Status, protect_steps
from casework.stats.disclosure_audit import AuditProblem, clean_components
from casework.stats.periods import Granularity, Period, period_of

_DAY, _WEEK, _MONTH = 1, 2, 3  # the kinds of steps, in the order they are protected
_STATUSES = list(Status)
# Components proven together (`disclosure_audit.clean_components`): a day's are small, and twenty
# of them make one program of moderate size (three times faster than one by one); a week's, four
# at a time (on the benchmark's month: 210 proofs instead of 438, about 15 % less CPU, and the 3
# week ends one program alone did not prove are proven, so no step goes to the chain's code); a
# month's alone (together, slower: its programs are the largest).
_TOGETHER = {_DAY: 20, _WEEK: 4, _MONTH: 1}


class _School:
    """One school's whole month: the system `cube._Month` builds, and each node's step."""

    def __init__(self, month: date, rows: Iterable[BaseRow]) -> None:
        self.built = built = cube._Month(month, rows)
        system = built.system
        self.n = n = len(built.keys)
        self.size = len(system.values)
        month_end = built.through
        # Each published node's step (the day it is first published, as an offset in the month)
        # and the step's kind; an unpublished part goes with the day cell it splits.
        step = np.zeros(self.size, dtype=np.int64)
        kind = np.zeros(self.size, dtype=np.int64)
        week_end = np.zeros(self.size, dtype=np.int64)  # the offset of the node's week's last day
        places: dict[Period, tuple[int, int, int]] = {}  # each period's (step, kind, week's end)
        for i, key in enumerate(built.keys):
            place = places.get(key[3])
            if place is None:
                place = places[key[3]] = _place(key[3], month, month_end)
            step[i], kind[i], week_end[i] = place
        self.eq_parent = np.asarray(system.eq_parent, dtype=np.int64)
        self.entry_eq = np.asarray(system.entry_eq, dtype=np.int64)
        self.entry_node = np.asarray(system.entry_node, dtype=np.int64)
        parts = self.entry_node >= n
        owner = self.eq_parent[self.entry_eq[parts]]
        for array in (step, kind, week_end):
            array[self.entry_node[parts]] = array[owner]
        self.step, self.kind, self.week_end = step, kind, week_end
        self.month_end = (month_end - month).days
        self.values = np.asarray(system.values, dtype=np.int64)
        self.unpublished = np.asarray(system.unpublished, dtype=bool)
        self.level = np.asarray(system.level, dtype=np.int64)
        self.status = np.full(self.size, -1, dtype=np.int8)  # published status, once its step is done
        self.members: list[list[int]] = built.members  # offset by `protect_schools`


def _place(period: Period, month: date, month_end: date) -> tuple[int, int, int]:
    """A period's step (the day its numbers are first published, as an offset in the month), the
    step's kind, and the offset of its week's last day."""
    end = period_of(period.start, Granularity.WEEK).end
    last = period.end if period.granularity != Granularity.DAY else period.start
    if last == month_end or period.granularity == Granularity.MONTH:
        kind = _MONTH
    elif last == end:
        kind = _WEEK
    else:
        kind = _DAY
    return (last - month).days, kind, (end - month).days


def protect_schools(
    month: date, rows: Mapping[int, list[BaseRow]], threads: int = 1
) -> dict[int, dict[CellKey, Published]]:
    """Each school's settled month as `cube._protect_school` protects it (the same cells, in the
    same order; hidden values not yet replaced by 0). `threads`: the audit's proofs run on this
    many threads (`disclosure_audit.clean_components`); the cells are the same."""
    schools = {school: _School(month, school_rows) for school, school_rows in rows.items()}
    order = sorted(schools)
    variables = 0
    for school in order:  # each school's base counts after the ones before it, in every kind's arrays
        s = schools[school]
        s.members = [[v + variables for v in members] for members in s.built.members]
        variables += len(s.built.truth)
    for kind in (_DAY, _WEEK, _MONTH):
        _protect_kind(month, [schools[s] for s in order], kind, threads)
    return {
        school: {
            key: Published(value, _STATUSES[status])
            for key, value, status in zip(
                s.built.keys, s.values[: s.n].tolist(), s.status[: s.n].tolist(), strict=True
            )
        }
        for school, s in schools.items()
    }


def _protect_kind(month: date, schools: list[_School], kind: int, threads: int = 1) -> None:
    """Protect every step of one kind of every school, side by side (see the module docstring)."""
    # Each step's system: which of each school's nodes it holds, and which system it is.
    masks, systems = [], []
    for number, s in enumerate(schools):
        if kind == _DAY:
            mask = s.kind == _DAY
            system = s.step
        elif kind == _WEEK:
            mask = (s.kind != _MONTH) & (s.week_end != s.month_end)
            system = s.week_end
        else:
            mask = np.ones(s.size, dtype=bool)
            system = np.zeros(s.size, dtype=np.int64)
        masks.append(mask)
        systems.append(system + 64 * number)
    if not any(mask.any() for mask in masks):
        return
    values, unpublished, level, frozen, system_of, eq_parent, entry_eq, entry_node = ([] for _ in range(8))
    rows: list[list[int]] = []
    truth: list[float] = []
    row_values: list[int] = []
    row_level: list[int] = []
    finest: list[bool] = []
    row_node: list[tuple[int, int]] = []  # (school's number, node) of each published node, in order
    node_offset = eq_offset = 0
    for number, (s, mask) in enumerate(zip(schools, masks, strict=True)):
        index = np.cumsum(mask) - 1  # each kept node's index among the kept ones
        # Equations wholly inside the kept nodes: those of the steps' systems.
        outside = np.bincount(s.entry_eq, weights=~mask[s.entry_node], minlength=len(s.eq_parent))
        kept_eq = mask[s.eq_parent] & (outside == 0)
        eq_index = np.cumsum(kept_eq) - 1
        kept_entry = kept_eq[s.entry_eq]
        values.append(s.values[mask])
        unpublished.append(s.unpublished[mask])
        level.append(s.level[mask])
        # What earlier kinds of steps published is frozen (their unpublished parts stay free).
        frozen.append(
            np.where((s.kind[mask] < kind) & ~s.unpublished[mask], s.status[mask], -1).astype(np.int8)
        )
        system_of.append(systems[number][mask])
        eq_parent.append(index[s.eq_parent[kept_eq]] + node_offset)
        entry_eq.append(eq_index[s.entry_eq[kept_entry]] + eq_offset)
        entry_node.append(index[s.entry_node[kept_entry]] + node_offset)
        node_offset += int(mask.sum())
        eq_offset += int(kept_eq.sum())
        # The audit's rows: the published kept nodes, over every school's base counts.
        truth.extend(s.built.truth)
        kept_rows = np.flatnonzero(mask[: s.n]).tolist()
        rows.extend([s.members[i] for i in kept_rows])
        row_values.extend(s.values[kept_rows].tolist())
        row_level.extend(s.level[kept_rows].tolist())
        finest.extend([s.built.finest[i] for i in kept_rows])
        row_node.extend(zip(repeat(number), kept_rows))
    status = protect_steps(
        np.concatenate(values),
        np.concatenate(unpublished),
        np.concatenate(level),
        np.concatenate(eq_parent),
        np.concatenate(entry_eq),
        np.concatenate(entry_node),
        np.concatenate(frozen),
        np.concatenate(system_of),
    )
    published = np.concatenate([~u for u in unpublished])  # which kept nodes are published
    row_status = [_STATUSES[x] for x in status[published].tolist()]
    frozen_all = np.concatenate(frozen)[published]
    problem = AuditProblem(
        truth, rows, row_values, row_status, row_level, finest, set(np.flatnonzero(frozen_all >= 0).tolist())
    )
    redundant = _redundant(
        np.concatenate(eq_parent), np.concatenate(entry_eq), np.concatenate(entry_node), status, published
    )
    unproven: set[tuple[int, int]] = set()  # (school's number, step) to protect by the chain's own code
    for component, clean in clean_components(problem, redundant, _TOGETHER[kind], threads):
        if not clean:
            number, node = row_node[component[0]]
            unproven.add((number, _system_step(schools[number], node, kind)))
    # Every node of a proven step takes its status; an unproven step is protected by `cube`'s chain.
    new = np.concatenate([s.kind[mask] == kind for s, mask in zip(schools, masks, strict=True)])
    start = 0
    for s, mask in zip(schools, masks, strict=True):
        size = int(mask.sum())
        nodes = np.flatnonzero(mask)
        chosen = new[start : start + size]
        s.status[nodes[chosen]] = status[start : start + size][chosen]
        start += size
    for number, step in sorted(unproven, key=lambda x: (x[0], x[1])):
        _protect_by_chain(month, schools[number], kind, step)


def _system_step(s: _School, node: int, kind: int) -> int:
    """The step (day offset) whose system holds `node`, for steps of `kind`."""
    if kind == _DAY:
        return int(s.step[node])
    if kind == _WEEK:
        return int(s.week_end[node])
    return s.month_end


def _protect_by_chain(month: date, s: _School, kind: int, step: int) -> None:
    """One step protected by `cube._protect_step` over the system the chain builds for it."""
    built = s.built
    day = date.fromordinal(month.toordinal() + step)
    n = s.n
    published = {
        key: Published(int(s.values[i]), _STATUSES[int(s.status[i])])
        for i, key in enumerate(built.keys)
        if s.status[i] >= 0 and (s.kind[i] < kind or s.step[i] < step)
    }
    if kind == _MONTH:
        built.frozen = published
        cells, _ = cube._protect_step(built)
    else:
        system = cube._week_so_far(built, day)
        system.frozen = published
        cells, _ = cube._protect_step(system)
    position = {key: i for i, key in enumerate(built.keys[:n])}
    for key, cell in cells.items():
        i = position[key]
        if s.kind[i] == kind and (
            kind == _MONTH or s.step[i] == step or (kind == _WEEK and s.week_end[i] == step)
        ):
            s.status[i] = int(cell.status)


def _redundant(
    eq_parent: np.ndarray,
    entry_eq: np.ndarray,
    entry_node: np.ndarray,
    status: np.ndarray,
    published: np.ndarray,
) -> set[int]:
    """`cube._Month.redundant` over the arrays: exact published totals of exact published parts."""
    exact = published & (status == Status.EXACT)
    row = np.cumsum(published) - 1
    not_exact = np.bincount(entry_eq, weights=~exact[entry_node], minlength=len(eq_parent))
    found = exact[eq_parent] & (not_exact == 0)
    return set(row[eq_parent[found]].tolist())
