"""One month of statistics as the system of equations an adversary sees, and its protected statuses.

Published counts, for every school (and "no school") and all schools
together, every intent and all intents together, every day, clipped week
and the month: the count of classified messages, and for each school (and
all) the count of urgent ones. Unpublished but constrained: each day cell's
split into urgent and non-urgent messages, which ties the urgent counts to
the intent counts.

Months are independent: no published number spans two (periods nest inside
months, and range totals are sums of published numbers), so each month is
protected once, whatever query asks for it, and every query shows the same
status for the same number. Schools are independent too: a number across
all schools is shown exactly only when it is the sum of every school's
exact number (`_all_schools`), so it adds nothing to protect.

Protection runs in two stages until both agree: bounds propagation
(`disclosure.protect`, fast, most of the work) and the exact linear-program
audit (`disclosure_audit.audit`), whose findings are withheld and fed back.
A school-month with no published number of 1..4 has nothing to hide and
skips both: every number is exact.

The month still running is published too, through its newest complete day:
its days and the weeks already over, never the month (or a week) so far.
Each day's publication adds numbers to the last one; what was shown cannot
be taken back, so a month is protected as a chain (`_protect_school`): at
each day that adds a number, the system of the month so far is protected
with every number already published frozen at the status it was shown with
(`disclosure.protect`'s and the audit's `frozen`: never withheld later, never
blamed), and only the new numbers are withheld to keep the old ones hidden.
That always succeeds: withholding every new non-zero number adds no upper
bound an adversary could use. The settled month is the chain's last step, so
the table of a month is the same whether or not anyone looked at it while it
ran, and no two days' tables can be subtracted (tests/casework/
test_current_month.py tries). Each step re-audits only the parts of the
system a new number joins (`disclosure_audit.audit` skips a component made
only of frozen numbers): about 5 times one protection for a month with
numbers every day. A settled month's schools are protected side by side by
`stats_chains`, which gives the same tables as this chain (and runs this
chain's own steps where its proof does not suffice).

Protection is deterministic: a school's rows are put in one canonical order
first, so the same rows give the same table whatever order the database
returns them in (`stats_cache` relies on it, and so does "the same status
for the same number in every query").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from casework.stats.disclosure import SMALL_MAX, Status, System, protect
from casework.stats.disclosure_audit import AuditProblem, audit
from casework.stats.periods import Granularity, Period, period_of, weeks_of

ALL_SCHOOLS = -1
NO_SCHOOL = 0
ALL_INTENTS = "*"
COUNT = "count"
URGENT = "urgent"
MAX_ROUNDS = 50
_STATUSES = list(Status)  # by value: Status(value) is slow in a loop

# (measure, school, intent, period); intent is ALL_INTENTS for the urgent measure.
CellKey = tuple[str, int, str, Period]
_GRAIN_LEVEL = {Granularity.DAY: 0, Granularity.WEEK: 1, Granularity.MONTH: 2}


@dataclass(frozen=True, slots=True)
class BaseRow:
    school: int  # a school id, or NO_SCHOOL
    intent: str
    day: date
    urgent: bool
    count: int


@dataclass(frozen=True, slots=True)
class Published:
    value: int
    status: Status  # EXACT, SMALL (`<5`) or WITHHELD (`x`)


ZERO = Published(0, Status.EXACT)


@dataclass
class MonthTable:
    month: date
    cells: dict[CellKey, Published]
    rounds: int  # propagation + audit rounds until both found nothing

    def get(self, key: CellKey) -> Published:
        return self.cells.get(key, ZERO)


class _Month:
    """One school's month: nodes, equations and base variables, built once and protected in rounds.

    `through`: the last day whose numbers are published (default: the month's last day). Only
    days up to it, and weeks and the month only if they end by it, are in the system: a week or
    month still running is never published, not even as a total of the days so far.
    """

    def __init__(self, month: date, rows: Iterable[BaseRow], through: date | None = None) -> None:
        month_period = period_of(month, Granularity.MONTH)
        self.month = month
        self.through = month_period.end if through is None else min(through, month_period.end)
        self.rows = [row for row in canonical(rows) if row.day <= self.through]
        self.frozen: dict[CellKey, Published] = {}  # set by `_protect_school`'s chain
        day_cells: dict[tuple[int, str, date], list[int]] = defaultdict(lambda: [0, 0])  # [urgent, other]
        for row in self.rows:
            day_cells[(row.school, row.intent, row.day)][0 if row.urgent else 1] += row.count
        urgent_days = {(s, d) for (s, _, d), (urgent, _) in day_cells.items() if urgent}

        totals, members, self.truth = _numbers(day_cells, urgent_days, month_period, self.through)
        self.system = System()
        self.keys: list[CellKey] = list(totals)
        # One node per published number, in the order of `keys` (as `System.node` adds them, at once).
        self.system.values.extend(totals.values())
        self.system.level.extend([_level(key) for key in self.keys])
        self.system.unpublished.extend([False] * len(self.keys))
        node = dict(zip(self.keys, range(len(self.keys)), strict=True))
        self.members = [members[key] for key in self.keys]
        self.finest = [
            k[3].granularity == Granularity.DAY and (k[0] == URGENT or k[2] != ALL_INTENTS) for k in self.keys
        ]
        self._equations(node, day_cells, urgent_days, month_period)

    def _equations(
        self,
        node: dict[CellKey, int],
        day_cells: dict[tuple[int, str, date], list[int]],
        urgent_days: set[tuple[int, date]],
        month_period: Period,
    ) -> None:
        """Every total equals the sum of its parts: days in weeks, weeks in the month, intents in all."""
        children: dict[int, list[int]] = defaultdict(list)

        def split(parent_of: dict[CellKey, CellKey]) -> None:
            for key, parent in parent_of.items():
                children[node[parent]].append(node[key])
            for parent_index, kids in children.items():
                self.system.equation(parent_index, kids)
            children.clear()

        split(
            {
                k: week
                for k in self.keys
                if k[3].granularity == Granularity.DAY
                and (week := (k[0], k[1], k[2], period_of(k[3].start, Granularity.WEEK))) in node
            }
        )
        split(
            {
                k: (k[0], k[1], k[2], month_period)
                for k in self.keys
                if k[3].granularity == Granularity.WEEK and (k[0], k[1], k[2], month_period) in node
            }
        )
        split(
            {k: (COUNT, k[1], ALL_INTENTS, k[3]) for k in self.keys if k[0] == COUNT and k[2] != ALL_INTENTS}
        )
        # Each day cell splits into urgent and non-urgent parts, never shown, only constrained.
        for (school, intent, day), (urgent, other) in day_cells.items():
            day_period = period_of(day, Granularity.DAY)
            parts = [self.system.node(other, level=-1, unpublished=True)]
            if (school, day) in urgent_days:
                parts.append(self.system.node(urgent, level=-1, unpublished=True))
                children[node[(URGENT, school, ALL_INTENTS, day_period)]].append(parts[-1])
            self.system.equation(node[(COUNT, school, intent, day_period)], parts)
        for parent_index, kids in children.items():
            self.system.equation(parent_index, kids)

    def redundant(self, status: list[Status]) -> set[int]:
        """Exact numbers that are sums of exact published parts: they tell the solver nothing new."""
        n = len(self.keys)
        found: set[int] = set()
        by_eq: dict[int, list[int]] = defaultdict(list)
        for eq, child in zip(self.system.entry_eq, self.system.entry_node, strict=True):
            by_eq[eq].append(child)
        for eq, parent in enumerate(self.system.eq_parent):
            if parent < n and status[parent] == Status.EXACT:
                kids = by_eq[eq]
                if all(k < n and status[k] == Status.EXACT for k in kids):
                    found.add(parent)
        return found


def _numbers(
    day_cells: dict[tuple[int, str, date], list[int]],
    urgent_days: set[tuple[int, date]],
    month_period: Period,
    through: date,
) -> tuple[dict[CellKey, int], dict[CellKey, list[int]], list[float]]:
    """Every published number's value and the base variables it sums, and the variables' true values.

    Only periods that end by `through` are published (see `_Month`).
    """
    # Summed under light keys (a period's index in `periods`, not the period: hashing a Period
    # is slow), each key first met in the same order as its number's, then named.
    periods: dict[Period, int] = {}  # each period met, and its index (in the order first met)
    period_index: dict[date, list[int]] = {}  # each day's published periods, as indices in `periods`
    sums: dict[tuple[str, int, str, int], tuple[list[int], list[int]]] = {}  # ([total], members)
    truth: list[float] = []
    for (school, intent, day), (urgent, other) in day_cells.items():
        indices = period_index.get(day)
        if indices is None:
            indices = period_index[day] = _indices(periods, day, month_period, through)
        variables = [len(truth)]
        truth.append(other)
        if (school, day) in urgent_days:  # else its urgent part is known to be 0: no variable
            variables.append(len(truth))
            truth.append(urgent)
        for index in indices:
            for i in (intent, ALL_INTENTS):
                entry = sums.get((COUNT, school, i, index))
                if entry is None:
                    entry = sums[(COUNT, school, i, index)] = ([0], [])
                entry[0][0] += urgent + other
                entry[1].extend(variables)
            if len(variables) == 2:
                entry = sums.get((URGENT, school, ALL_INTENTS, index))
                if entry is None:
                    entry = sums[(URGENT, school, ALL_INTENTS, index)] = ([0], [])
                entry[0][0] += urgent
                entry[1].append(variables[1])
    totals: dict[CellKey, int] = {}
    members: dict[CellKey, list[int]] = {}
    named = list(periods)
    for (measure, school, intent, index), (total, variables) in sums.items():
        key = (measure, school, intent, named[index])
        totals[key] = total[0]
        members[key] = variables
    return totals, members, truth


def _indices(periods: dict[Period, int], day: date, month_period: Period, through: date) -> list[int]:
    """The indices in `periods` (added to as needed) of `day`'s periods published by `through`."""
    indices = []
    for p in (period_of(day, Granularity.DAY), period_of(day, Granularity.WEEK), month_period):
        if p.end <= through:
            indices.append(periods.setdefault(p, len(periods)))
    return indices


def _level(key: CellKey) -> int:
    _, school, intent, period = key
    return (school == ALL_SCHOOLS) + (intent == ALL_INTENTS) + _GRAIN_LEVEL[period.granularity]


def canonical(rows: Iterable[BaseRow]) -> list[BaseRow]:
    """Rows in one fixed order (school, day, intent, urgent: the order they are recorded in), whatever
    order they came in."""
    return sorted(rows, key=lambda r: (r.school, r.day, r.intent, r.urgent, r.count))


def protect_month(month: date, rows: Iterable[BaseRow]) -> MonthTable:
    """Protect each school's month, then derive the all-schools numbers (see the module docstring)."""
    by_school: dict[int, list[BaseRow]] = defaultdict(list)
    for row in rows:
        by_school[row.school].append(row)
    cells: dict[CellKey, Published] = {}
    rounds = 0
    for school in sorted(by_school):
        school_cells, school_rounds = _protect_school(_Month(month, by_school[school]))
        cells.update(school_cells)
        rounds = max(rounds, school_rounds)
    cells.update(_all_schools(cells))
    return MonthTable(month, cells, rounds)


def protect_school(
    month: date, rows: Iterable[BaseRow], through: date | None = None
) -> dict[CellKey, Published]:
    """One school's protected month as published: a hidden number keeps its status, not its value.

    `rows` are one school's rows of one month; `through`, the last day to
    publish (a month still running: its days and weeks over by then). The true
    value of a `<5` or `x` number is replaced by 0, so what leaves this
    function (for a report, or for the cache in `stats_cache`) holds nothing
    that is not published.
    """
    cells, _ = _protect_school(_Month(month, rows, through))
    return published(cells)


def published(cells: dict[CellKey, Published]) -> dict[CellKey, Published]:
    """The cells as anyone can see them: exact values, and only the status of the others."""
    return {
        key: cell if cell.status == Status.EXACT else Published(0, cell.status) for key, cell in cells.items()
    }


def all_schools(cells: dict[CellKey, Published]) -> dict[CellKey, Published]:
    """The all-schools numbers of every school's published cells (of one month), as published."""
    return published(_all_schools(cells))


def _all_schools(cells: dict[CellKey, Published]) -> dict[CellKey, Published]:
    """A number across schools is exact only as the sum of every school's exact number, else `x`.

    Such a number tells nothing the schools' numbers do not, so the schools'
    systems stay independent (and small enough for the exact audit).
    """
    sums: dict[CellKey, Published] = {}
    for (measure, _, intent, period), cell in cells.items():
        key = (measure, ALL_SCHOOLS, intent, period)
        before = sums.get(key, ZERO)
        exact = before.status == Status.EXACT and cell.status == Status.EXACT
        sums[key] = Published(before.value + cell.value, Status.EXACT if exact else Status.WITHHELD)
    return sums


def checkpoints(month: date, rows: Iterable[BaseRow], through: date) -> list[date]:
    """The days on which a month's publication changes, up to `through`: each day with rows, each
    week's and the month's last day (a new number appears), and `through` itself."""
    days = {row.day for row in rows if row.day <= through}
    days.update(week.end for week in weeks_of(month) if week.end <= through)
    return sorted(days | {through})


def _protect_school(built: _Month) -> tuple[dict[CellKey, Published], int]:
    """The month as published through `built.through`, the same numbers with the same statuses as
    every earlier day's publication of it (a chain: see the module docstring)."""
    cells: dict[CellKey, Published] = {}
    rounds = 0
    for day in checkpoints(built.month, built.rows, built.through):
        if day == built.through:
            built.frozen = cells
            cells, step_rounds = _protect_step(built)
        else:
            step = _week_so_far(built, day)
            step.frozen = cells
            step_cells, step_rounds = _protect_step(step)
            cells = {**cells, **step_cells}
        rounds = max(rounds, step_rounds)
    return cells, rounds


def _week_so_far(built: _Month, day: date) -> _Month:
    """A step of the chain before its last, as the system of `day`'s week so far: the same step.

    What a step adds (`day`'s numbers, and its week's totals when the week ends that day) is
    tied by equations only to the days of its week: a week's total to its days, a day's total
    to its intents and urgent part, and the month's total, the one number across weeks, is
    only added by the last step (the month is published when it is over). Every other number
    of the month so far is frozen, in components of its own that no new number joins, so
    propagation never moves them and the audit skips them (`disclosure_audit.audit`). Built
    from the week's rows alone, the system keeps the order of its numbers and base counts, so
    ties are broken and the programs are solved just as in the whole month so far; only the
    frozen components that would be skipped are left out (tests/casework/
    test_stats_chain.py compares the two).
    """
    week = period_of(day, Granularity.WEEK)
    return _Month(built.month, [row for row in built.rows if week.start <= row.day], day)


def _protect_step(built: _Month) -> tuple[dict[CellKey, Published], int]:
    n = len(built.keys)
    frozen: dict[int, Status] = {}
    for i, key in enumerate(built.keys):
        before = built.frozen.get(key)
        if before is not None:
            if before.value != built.system.values[i]:
                # Every step reads the same rows, so a number of a complete period is the same in
                # each; anything else is a bug in building the steps, not a table to publish.
                raise AssertionError(f"the chain's number for {key[3].label} changed between steps")
            frozen[i] = before.status
    if not any(1 <= value <= SMALL_MAX for value in built.system.values[:n]):
        # Nothing of 1..4 is published: every status starts exact, and neither propagation nor the
        # audit has a hidden count to look at, so both would return everything exact (and nothing
        # frozen is hidden: a frozen number has the same value now, so none was of 1..4 either).
        return {key: Published(built.system.values[i], Status.EXACT) for i, key in enumerate(built.keys)}, 1
    withhold: set[int] = set()
    for round_number in range(1, MAX_ROUNDS + 1):
        status = [_STATUSES[s] for s in protect(built.system, withhold, frozen).status[:n].tolist()]
        problem = AuditProblem(
            built.truth,
            built.members,
            built.system.values[:n],
            status,
            built.system.level[:n],
            built.finest,
            set(frozen),
        )
        findings = audit(problem, built.redundant(status), seed=round_number)
        if not findings:
            return {
                key: Published(built.system.values[i], status[i]) for i, key in enumerate(built.keys)
            }, round_number
        withheld_before = len(withhold)
        for finding in findings:
            if finding.culprit is not None and finding.culprit not in frozen:
                withhold.add(finding.culprit)
            else:  # nothing to blame: withhold every number not yet published that shares a base count
                pinned = set(built.members[finding.row])
                withhold.update(
                    i
                    for i in range(n)
                    if status[i] in (Status.EXACT, Status.SMALL)
                    and i not in frozen
                    and built.system.values[i] > 0
                    and pinned & set(built.members[i])
                )
        if len(withhold) == withheld_before:
            raise RuntimeError("disclosure control: a count is pinned and nothing left can be withheld")
    raise RuntimeError(f"disclosure control did not settle in {MAX_ROUNDS} rounds")
