"""`sro stats`: aggregated intents and response times for whole periods, with disclosure control.

Every number comes from a protected month (`stats_cube`), so the same
number has the same status in every query. A range total (a school's
total over the whole range, say) is shown exactly only when it is the sum
of exact numbers already published for that range — whole months, else
weeks, else days — and as `x` otherwise, so it can never be subtracted from
another query's total to reveal a small count. Only complete periods are
shown (`periods.last_complete_day`: a day from the day after next, a week or
month when its last day is): in the month still running, its complete days
and weeks, never a total of the month (or week) so far, which could be
subtracted from the next day's to give one day's count. Response times (median and 90th
percentile to acknowledgement and to first reply) need at least 10 cases
and are rounded to 5 minutes (`responses.publishable`).

Protecting a month is the slow part, so each school's protected month is
cached (`stats_cache`) and only school-months not cached, or whose rows
changed since, are protected, on every idle core (`stats_pool`). A `--school`
query needs only that school's months: schools are protected independently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.stats import cache, cube, pool, responses
from casework.stats.cube import (
    ALL_INTENTS,
    ALL_SCHOOLS,
    COUNT,
    NO_SCHOOL,
    URGENT,
    ZERO,
    BaseRow,
    CellKey,
    Published,
)
from casework.stats.disclosure import Status
from casework.stats.periods import (
    Granularity,
    Period,
    last_complete_day,
    last_settled_day,
    month_end,
    month_start,
    months_between,
    period_of,
    periods_between,
)
from storage.db import Database
from storage.models import IntentStat, ResponseMeasure, ResponseTime, School

log = logging.getLogger(__name__)


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
    measure: ResponseMeasure
    median_minutes: int  # rounded to responses.ROUND_TO_MINUTES, over at least MIN_CASES_FOR_TIMES cases
    p90_minutes: int


@dataclass
class StatsReport:
    first: date | None  # the range actually shown (snapped outward), None if no period in it is complete
    last: date | None
    by: Granularity
    settled_until: date  # the last day of the newest complete month
    complete_until: date  # the newest complete day (`periods.last_complete_day`)
    periods: list[Period] = field(default_factory=list)  # shown: complete periods only
    schools: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    response_times: list[ResponseTimes] = field(default_factory=list)
    incomplete: list[Period] = field(default_factory=list)  # asked for, not over yet: not shown
    cached_school_months: int = 0  # protected months read from the cache ...
    protected_school_months: int = 0  # ... and protected for this report


class InvalidStatsQuery(ValueError):
    """--from after --to, or a school code that does not exist."""


def query_range(query: StatsQuery, today: date) -> tuple[date, date]:
    """The days asked for: by default, from the newest settled month to the newest complete day."""
    complete = last_complete_day(today)
    last = query.last or complete
    first = query.first or min(month_start(last_settled_day(today)), month_start(last))
    if first > last:
        if query.last is None:
            raise InvalidStatsQuery(
                f"--from {first} is after {complete}, the newest complete day (a day's numbers are "
                f"shown from the day after next): give an earlier --from"
            )
        raise InvalidStatsQuery(f"--from {first} is after --to {last}: give the earlier day to --from")
    return first, last


async def build_report(
    db: Database, query: StatsQuery, today: date, *, now: datetime | None = None, workers: int | None = None
) -> StatsReport:
    """The report for `query`, with every month protected (from the cache where it still fits).

    Takes the database, not a session: the statistics are read in one short
    transaction, protected outside any (it can take minutes for a cold
    cache, and a SQLite transaction holds the write lock the bot needs),
    and newly protected months are cached in a second short transaction.
    `workers`: processes for protection (default: every usable core).
    """
    settled, complete = last_settled_day(today), last_complete_day(today)
    first, last = query_range(query, today)
    asked = periods_between(first, last, query.by)
    periods = [p for p in asked if p.end <= complete]
    report = StatsReport(
        None, None, query.by, settled, complete, periods, incomplete=[p for p in asked if p.end > complete]
    )
    async with db.transaction() as session:
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
        months = months_between(report.first, report.last)
        cached = await cache.load(session, months, only)
        # Helpers for protection, started now when months look uncached (fewer cached school-months
        # than schools), so that they import while the rows are read.
        expected = len(months) * (1 if only is not None else len(codes) + 1) - len(cached)
        helpers = pool.start_helpers(workers) if expected >= pool.POOL_MIN_TASKS else None
        try:
            stat_rows = await _statistic_rows(session, months, only)
            response_rows = await _response_rows(session, periods)
        except BaseException:
            if helpers is not None:
                helpers.close()
            raise
    # Off the event loop: a cold month takes seconds of CPU, and the dashboard's other requests (or
    # the bot's, where it runs in-process) must keep being answered meanwhile.
    try:
        tables, fresh = await asyncio.to_thread(
            _protect,
            months,
            stat_rows,
            cached,
            all_schools=only is None,
            workers=workers,
            through=complete,
            helpers=helpers,
        )
    finally:
        if helpers is not None:
            await asyncio.to_thread(helpers.close)
    report.cached_school_months = len(stat_rows) - len(fresh)
    report.protected_school_months = len(fresh)
    fresh = [entry for entry in fresh if month_end(entry.month) <= settled]  # only settled months are kept
    if fresh:
        async with db.transaction() as session:
            await cache.store(session, fresh, now or datetime.now(UTC))

    present = _present_intents(tables, report.first, report.last)
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
    report.response_times = _response_times(response_rows, periods, schools, label)
    return report


def _present_intents(tables: dict[date, _Protected], first: date, last: date) -> dict[int, set[str]]:
    """The intents each school (and all schools) has a count of between `first` and `last`."""
    present: dict[int, set[str]] = defaultdict(set)
    for month, table in tables.items():
        # A whole month's intents are its month cells' (a count anywhere in it counts in the month).
        whole = first <= month and month_end(month) <= last
        for granularity in [Granularity.MONTH] if whole else list(Granularity):
            for measure, school, intent, period in table.level(granularity):
                if measure == COUNT and intent != ALL_INTENTS and first <= period.start <= last:
                    present[school].add(intent)
    return present


# One school-month's rows, by (month, school): intent, day, urgent, count.
_StatRows = dict[tuple[date, int], list[cache.StatRow]]


async def _statistic_rows(session: AsyncSession, months: list[date], only: int | None) -> _StatRows:
    statement = select(
        IntentStat.school_id, IntentStat.intent, IntentStat.day, IntentStat.urgent, IntentStat.count
    ).where(IntentStat.day >= months[0], IntentStat.day <= month_end(months[-1]), IntentStat.count > 0)
    if only is not None:
        statement = statement.where(IntentStat.school_id == only)
    by_school_month: _StatRows = defaultdict(list)
    month_of: dict[date, date] = {}
    # Core, not the ORM: these are plain rows, up to a million of them.
    result = await (await session.connection()).execute(statement)
    for school_id, intent, day, urgent, count in result.all():
        month = month_of.get(day)
        if month is None:
            month = month_of[day] = month_start(day)
        by_school_month[(month, school_id or NO_SCHOOL)].append((intent, day, bool(urgent), count))
    return by_school_month


class _Protected:
    """One month's published cells, every school's and the all-schools numbers, a granularity at a time."""

    def __init__(self, schools: list[cache.SchoolMonth], *, all_schools: bool) -> None:
        self._schools = schools
        self._all_schools = all_schools
        self._levels: dict[Granularity, dict[CellKey, Published]] = {}
        self._by_school = {school.school: school for school in schools}
        # One school's cells of a granularity, decoded alone while the whole level is not needed
        # (a range total looks into the weeks and days of the schools whose month is hidden only).
        self._school_levels: dict[tuple[int, Granularity], dict[CellKey, Published]] = {}

    def level(self, granularity: Granularity) -> dict[CellKey, Published]:
        cells = self._levels.get(granularity)
        if cells is None:
            cells = {}
            for school in self._schools:
                decoded = self._school_levels.pop((school.school, granularity), None)
                cells.update(school.level(granularity) if decoded is None else decoded)
            if self._all_schools:  # with --school, only that school was read: no sums to make
                cells.update(cube.all_schools(cells))
            self._levels[granularity] = cells
        return cells

    def get(self, key: CellKey) -> Published:
        granularity = key[3].granularity
        cells = self._levels.get(granularity)
        if cells is None and key[1] != ALL_SCHOOLS:
            school = self._by_school.get(key[1])
            if school is None:
                return ZERO
            cells = self._school_levels.get((key[1], granularity))
            if cells is None:
                cells = self._school_levels[(key[1], granularity)] = school.level(granularity)
        elif cells is None:
            cells = self.level(granularity)
        return cells.get(key, ZERO)


def _protect(
    months: list[date],
    stat_rows: _StatRows,
    cached: dict[tuple[date, int], cache.CachedMonth],
    *,
    all_schools: bool,
    workers: int | None,
    through: date,
    helpers: pool.Helpers | None = None,
) -> tuple[dict[date, _Protected], list[cache.CachedMonth]]:
    """Every month's table, from the cache where the fingerprint still matches; and what was protected now.

    A month not complete by `through` is published through that day only (its complete days and
    weeks, protected as a chain so each keeps the status it was first shown with); it is never cached.
    """
    by_month: dict[date, list[cache.SchoolMonth]] = defaultdict(list)
    prints: dict[tuple[date, int], bytes] = {}
    tasks = []
    for (month, school), rows in sorted(stat_rows.items()):
        prints[(month, school)] = cache.fingerprint(month, school, rows)
        hit = cached.get((month, school))
        if hit is not None and hit.fingerprint == prints[(month, school)]:
            try:
                by_month[month].append(cache.SchoolMonth(month, school, hit.cells))
                continue
            except cache.CacheFormatError:
                log.warning("stats.cache unreadable month=%s school=%d: protecting it again", month, school)
        until = through if month_end(month) > through else None
        tasks.append(pool.Task(month, school, [BaseRow(school, *row) for row in rows], until))
    computed = pool.protect_all(tasks, workers, helpers)
    for (month, school), cells in computed.items():
        by_month[month].append(cache.SchoolMonth(month, school, cells))
    tables = {
        month: _Protected(sorted(by_month[month], key=lambda s: s.school), all_schools=all_schools)
        for month in months
    }
    fresh = [
        cache.CachedMonth(month, school, prints[(month, school)], cells)
        for (month, school), cells in sorted(computed.items())
    ]
    return tables, fresh


def _range_total(
    tables: dict[date, _Protected], measure: str, school: int, intent: str, first: date, last: date
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


async def _response_rows(
    session: AsyncSession, periods: list[Period]
) -> list[tuple[int | None, date, str, int]]:
    rows = await session.execute(
        select(ResponseTime.school_id, ResponseTime.day, ResponseTime.measure, ResponseTime.seconds).where(
            ResponseTime.day >= periods[0].start, ResponseTime.day <= periods[-1].end
        )
    )
    return [(school_id, day, measure, seconds) for school_id, day, measure, seconds in rows.all()]


def _response_times(
    rows: list[tuple[int | None, date, str, int]],
    periods: list[Period],
    schools: list[int],
    label: Callable[[int], str],
) -> list[ResponseTimes]:
    samples: dict[tuple[int, Period, str], list[int]] = defaultdict(list)
    granularity = periods[0].granularity
    for school_id, day, measure, seconds in rows:
        period = period_of(day, granularity)
        for school in (school_id or NO_SCHOOL, ALL_SCHOOLS):
            samples[(school, period, measure)].append(seconds)
    out = []
    for school in schools:
        for period in periods:
            for measure in (ResponseMeasure.ACKNOWLEDGEMENT, ResponseMeasure.FIRST_REPLY):
                shown = responses.publishable(samples.get((school, period, measure), []))
                if shown is not None:
                    out.append(
                        ResponseTimes(label(school), period, measure, shown.median_minutes, shown.p90_minutes)
                    )
    return out
