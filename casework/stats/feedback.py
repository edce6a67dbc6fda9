"""Students' "Did this help?": asked once per closed case, counted per school and month, never per case.

What is stored: `feedback_asked` says a closed case's student was asked
(so they are asked once); `feedback_counts` adds one to (school, month,
answer). Nothing records whether, when or how a case's student answered:
the answer's only trace is a count that no column ties to a case, and the
month (not the day) it was given in. The bot holds the case being asked
about in the student's sealed, pseudonymous state until the one tap, and
forgets it then (bot.student.feedback).

What is published: each settled month's counts per school, protected like
intent statistics. A school-month is a small system (one total equal to the
sum of the three answers) run through the same disclosure control as
`sro stats` (`disclosure.protect`, then the exact `disclosure_audit`), so a
count of 1..4 is shown as `<5` and withheld (`x`) wherever the total and
the other answers would give it away. A number across schools is exact
only as the sum of exact school numbers (as in `stats_cube`), and only
complete months are published: a month still running could be subtracted
from itself a day later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.policy import CasePolicy
from casework.stats.cube import ALL_SCHOOLS, NO_SCHOOL, ZERO, Published
from casework.stats.disclosure import SMALL_MAX, Status, System, protect
from casework.stats.disclosure_audit import AuditProblem, audit
from casework.stats.periods import last_settled_day, month_end, month_start, months_between
from storage import dialect
from storage.models import Case, CaseStatus, FeedbackAnswer, FeedbackAsked, FeedbackCount

ANSWERS = tuple(FeedbackAnswer)
MAX_ROUNDS = 10

# --- recording ------------------------------------------------------------------------------


async def ask_once(session: AsyncSession, case_id: int) -> bool:
    """True the first time a closed case's student may be asked (and records that they were); else False."""
    case = await session.get(Case, case_id)
    if case is None or case.status != CaseStatus.CLOSED:
        return False
    statement = dialect.insert(session, FeedbackAsked).values(case_id=case_id)
    result = await session.execute(
        statement.on_conflict_do_nothing(index_elements=["case_id"]).returning(FeedbackAsked.case_id)
    )
    return result.scalar_one_or_none() is not None


async def count_answer(
    session: AsyncSession, policy: CasePolicy, case_id: int, answer: FeedbackAnswer, now: datetime
) -> bool:
    """Add the answer to its school's count for this month; False (nothing counted) unless the case
    is closed and its student was asked. The case itself is not touched: nothing on it says it was
    answered, or how (the bot forgets the question once it is answered)."""
    case = await session.get(Case, case_id)
    if case is None or case.status != CaseStatus.CLOSED:
        return False
    if await session.get(FeedbackAsked, case_id) is None:
        return False
    month = month_start(now.astimezone(policy.timezone).date())
    statement = dialect.insert(session, FeedbackCount).values(
        month=month, school_id=case.school_id or NO_SCHOOL, answer=FeedbackAnswer(answer), count=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["month", "school_id", "answer"], set_={"count": FeedbackCount.count + 1}
        )
    )
    return True


# --- publishing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedbackMonth:
    """One school's (or all schools') answers in one month, as they may be shown."""

    school: int  # a school id, NO_SCHOOL (a case sent before its school was chosen), or ALL_SCHOOLS
    month: date  # its first day
    answers: dict[FeedbackAnswer, Published]
    total: Published


def protect_school_month(school: int, month: date, counts: dict[FeedbackAnswer, int]) -> FeedbackMonth:
    """The published form of one school-month: exact, `<5` or `x` per number, values of hidden ones 0."""
    values = tuple(counts.get(answer, 0) for answer in ANSWERS)
    shown = [
        Published(value, status) if status == Status.EXACT else Published(0, status)
        for value, status in zip((sum(values), *values), _statuses(values), strict=True)
    ]
    return FeedbackMonth(school, month, dict(zip(ANSWERS, shown[1:], strict=True)), shown[0])


@lru_cache(maxsize=8192)
def _statuses(values: tuple[int, ...]) -> tuple[Status, ...]:
    """The statuses of (total, *answers): a function of the counts alone (the audit's seeds are fixed),
    so a page of many school-months protects each distinct set of counts once."""
    system = System()
    total = system.node(sum(values), level=1)
    system.equation(total, [system.node(value, level=0) for value in values])
    if not any(1 <= value <= SMALL_MAX for value in system.values):
        # Nothing of 1..4 to hide: every number is exact (as in stats_cube; most months of a big school).
        return tuple(Status.EXACT for _ in system.values)
    rows = [list(range(len(values))), *[[i] for i in range(len(values))]]  # base variables per number
    withhold: set[int] = set()
    for round_number in range(1, MAX_ROUNDS + 1):
        status = [Status(int(s)) for s in protect(system, withhold).status]
        problem = AuditProblem(
            truth=[float(v) for v in values],
            rows=rows,
            values=system.values,
            status=status,
            level=system.level,
            finest=[False, *(True for _ in values)],
        )
        findings = audit(problem, set(), seed=round_number)
        if not findings:
            return tuple(status)
        before = len(withhold)
        for finding in findings:
            if finding.culprit is not None:
                withhold.add(finding.culprit)
            else:  # nothing single to blame: every number of the month goes
                withhold.update(i for i, v in enumerate(system.values) if v > 0)
        if len(withhold) == before:
            raise RuntimeError("feedback disclosure control: a count is pinned and nothing left to withhold")
    raise RuntimeError(f"feedback disclosure control did not settle in {MAX_ROUNDS} rounds")


def all_schools(months: Iterable[FeedbackMonth], month: date) -> FeedbackMonth:
    """The program's numbers for a month: exact only as sums of exact school numbers, else `x`."""

    def add(a: Published, b: Published) -> Published:
        exact = a.status == Status.EXACT and b.status == Status.EXACT
        return Published(a.value + b.value, Status.EXACT) if exact else Published(0, Status.WITHHELD)

    answers = dict.fromkeys(ANSWERS, ZERO)
    total = ZERO
    for one in months:
        answers = {a: add(answers[a], one.answers[a]) for a in ANSWERS}
        total = add(total, one.total)
    return FeedbackMonth(ALL_SCHOOLS, month, answers, total)


@dataclass
class FeedbackTable:
    """Settled months from `first` to `last`, each school's row and the all-schools row."""

    first: date | None  # None: no complete month in the range asked for
    last: date | None
    months: list[date]
    rows: list[FeedbackMonth]

    def get(self, school: int, month: date) -> FeedbackMonth:
        for row in self.rows:
            if row.school == school and row.month == month:
                return row
        return FeedbackMonth(school, month, dict.fromkeys(ANSWERS, ZERO), ZERO)


async def feedback_table(
    session: AsyncSession,
    *,
    today: date,
    first: date | None = None,
    last: date | None = None,
    schools: Sequence[int] | None = None,
) -> FeedbackTable:
    """The protected counts per school and month, complete months only, for `schools` (None: every one).

    A school account asks with its own schools: each school-month is protected on its own, and the
    row across the schools asked for is exact only where every part is, so no choice of schools can
    be subtracted from another to reveal a hidden count.
    """
    newest = month_start(last_settled_day(today))
    last_month = min(month_start(last), newest) if last is not None else newest
    first_month = month_start(first) if first is not None else last_month
    months = months_between(first_month, month_end(last_month)) if first_month <= last_month else []
    if not months:
        return FeedbackTable(None, None, [], [])
    query = select(FeedbackCount).where(FeedbackCount.month.in_(months))
    if schools is not None:
        query = query.where(FeedbackCount.school_id.in_(list(schools)))
    counts: dict[tuple[int, date], dict[FeedbackAnswer, int]] = defaultdict(dict)
    for row in await session.scalars(query):
        counts[(row.school_id, row.month)][FeedbackAnswer(row.answer)] = row.count
    rows: list[FeedbackMonth] = []
    for month in months:
        per_school = [protect_school_month(s, month, c) for (s, m), c in sorted(counts.items()) if m == month]
        rows.extend(per_school)
        rows.append(all_schools(per_school, month))
    return FeedbackTable(months[0], month_end(months[-1]), months, rows)
