"""`sro stats`: aggregated intents and response times for whole periods, with disclosure control.

Every number comes from a protected month (`stats_cube`), so the same
number has the same status in every query. A range total (a school's
total over the whole range, say) is shown exactly only when it is the sum
of exact numbers already published for that range — whole months, else
weeks, else days — and as `x` otherwise, so it can never be subtracted from
another query's total to reveal a small count. Only settled months are
shown (`periods.last_settled_day`). Response times (median and 90th
percentile to acknowledgement and to first reply) need at least 5 cases.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.disclosure import Status
from casework.periods import (
    Granularity,
    Period,
    last_settled_day,
    month_end,
    month_start,
    period_of,
    periods_between,
)
from casework.stats_cube import (
    ALL_INTENTS,
    ALL_SCHOOLS,
    COUNT,
    NO_SCHOOL,
    URGENT,
    BaseRow,
    CellKey,
    MonthTable,
    Published,
    protect_month,
)
from storage.models import IntentStat, ResponseMeasure, ResponseTime, School

MIN_CASES_FOR_TIMES = 5


@dataclass(frozen=True, slots=True)
class StatsQuery:
    first: date | None = None
    last: date | None = None
    school_code: str | None = None
    by: Granularity = Granularity.MONTH


@dataclass(frozen=True, slots=True)
class Cell:
    school: str  # a school code, "(none)" for no school chosen, or "ALL"
    period: Period | None  # None: the total over the whole range
    intent: str  # an intent name, or "*" for all intents
    measure: str  # "count" or "urgent"
    value: Published


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    school: str
    period: Period
    measure: str  # "acknowledgement" or "first_reply"
    median_minutes: float
    p90_minutes: float


@dataclass
class StatsReport:
    first: date | None  # the range actually used (snapped outward), None if nothing is settled in it
    last: date | None
    by: Granularity
    settled_until: date
    periods: list[Period] = field(default_factory=list)
    schools: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    response_times: list[ResponseTimes] = field(default_factory=list)
    clipped: bool = False  # True: part of the asked range is not settled yet and was left out


class InvalidStatsQuery(ValueError):
    """--from after --to, or a school code that does not exist."""


async def build_report(session: AsyncSession, query: StatsQuery, today: date) -> StatsReport:
    settled = last_settled_day(today)
    last = query.last or settled
    first = query.first or month_start(last)
    if first > last:
        raise InvalidStatsQuery(f"--from {first} is after --to {last}")
    asked = periods_between(first, last, query.by)
    periods = [p for p in asked if p.end <= settled]
    report = StatsReport(None, None, query.by, settled, periods, clipped=len(periods) < len(asked))
    codes = {s.id: s.code for s in await session.scalars(select(School))}
    only: int | None = None
    if query.school_code is not None:
        wanted = query.school_code.strip().upper()
        matches = [school_id for school_id, code in codes.items() if code == wanted]
        if not matches:
            raise InvalidStatsQuery(f"no school with code {wanted!r}")
        only = matches[0]
    if not periods:
        return report
    report.first, report.last = periods[0].start, periods[-1].end
    tables = await _protected_months(session, report.first, report.last)

    present: dict[int, set[str]] = defaultdict(set)
    for table in tables.values():
        for (measure, school, intent, period), _cell in table.cells.items():
            if measure == COUNT and intent != ALL_INTENTS and report.first <= period.start <= report.last:
                present[school].add(intent)
    schools = [only] if only is not None else [*sorted(s for s in present if s != ALL_SCHOOLS), ALL_SCHOOLS]
    report.intents = sorted(set().union(*(present.get(s, set()) for s in schools)))

    def label(school: int) -> str:
        return (
            "ALL"
            if school == ALL_SCHOOLS
            else "(none)"
            if school == NO_SCHOOL
            else codes.get(school, str(school))
        )

    report.schools = [label(s) for s in schools]
    for school in schools:
        rows: list[tuple[str, str]] = [(COUNT, i) for i in sorted(present.get(school, set()))]
        rows += [(COUNT, ALL_INTENTS), (URGENT, ALL_INTENTS)]
        for measure, intent in rows:
            for period in periods:
                key: CellKey = (measure, school, intent, period)
                report.cells.append(
                    Cell(label(school), period, intent, measure, tables[month_start(period.start)].get(key))
                )
            total = _range_total(tables, measure, school, intent, report.first, report.last)
            report.cells.append(Cell(label(school), None, intent, measure, total))
    report.response_times = await _response_times(session, periods, schools, label)
    return report


async def _protected_months(session: AsyncSession, first: date, last: date) -> dict[date, MonthTable]:
    rows = await session.execute(
        select(
            IntentStat.school_id, IntentStat.intent, IntentStat.day, IntentStat.urgent, IntentStat.count
        ).where(IntentStat.day >= month_start(first), IntentStat.day <= month_end(last), IntentStat.count > 0)
    )
    by_month: dict[date, list[BaseRow]] = defaultdict(list)
    for school_id, intent, day, urgent, count in rows.all():
        by_month[month_start(day)].append(BaseRow(school_id or NO_SCHOOL, intent, day, urgent, count))
    months = [p.start for p in periods_between(first, last, Granularity.MONTH)]
    return {month: protect_month(month, by_month.get(month, [])) for month in months}


def _range_total(
    tables: dict[date, MonthTable], measure: str, school: int, intent: str, first: date, last: date
) -> Published:
    """Exact only as a sum of exact published numbers (months, else weeks, else days); else `x`."""
    total = 0
    for month in periods_between(first, last, Granularity.MONTH):
        table = tables[month.start]
        if first <= month.start and month.end <= last:
            cell = table.get((measure, school, intent, month))
            if cell.status == Status.EXACT:
                total += cell.value
                continue
        for week in periods_between(max(first, month.start), min(last, month.end), Granularity.WEEK):
            cell = table.get((measure, school, intent, week))
            if first <= week.start and week.end <= last and cell.status == Status.EXACT:
                total += cell.value
                continue
            for day in week.days():
                if first <= day <= last:
                    cell = table.get((measure, school, intent, period_of(day, Granularity.DAY)))
                    if cell.status != Status.EXACT:
                        return Published(0, Status.WITHHELD)  # shown as `x`: never zero, never a bound
                    total += cell.value
    return Published(total, Status.EXACT)


async def _response_times(
    session: AsyncSession, periods: list[Period], schools: list[int], label: Callable[[int], str]
) -> list[ResponseTimes]:
    rows = await session.execute(
        select(ResponseTime.school_id, ResponseTime.day, ResponseTime.measure, ResponseTime.seconds).where(
            ResponseTime.day >= periods[0].start, ResponseTime.day <= periods[-1].end
        )
    )
    samples: dict[tuple[int, Period, str], list[int]] = defaultdict(list)
    granularity = periods[0].granularity
    for school_id, day, measure, seconds in rows.all():
        period = period_of(day, granularity)
        for school in (school_id or NO_SCHOOL, ALL_SCHOOLS):
            samples[(school, period, measure)].append(seconds)
    out = []
    for school in schools:
        for period in periods:
            for measure in (ResponseMeasure.ACKNOWLEDGEMENT, ResponseMeasure.FIRST_REPLY):
                values = sorted(samples.get((school, period, measure), []))
                if len(values) >= MIN_CASES_FOR_TIMES:
                    out.append(
                        ResponseTimes(
                            label(school),
                            period,
                            measure,
                            _median(values) / 60,
                            _nearest_rank(values, 0.9) / 60,
                        )
                    )
    return out


def _median(values: list[int]) -> float:
    middle = len(values) // 2
    return float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _nearest_rank(values: list[int], fraction: float) -> float:
    return float(values[max(0, math.ceil(fraction * len(values)) - 1)])
