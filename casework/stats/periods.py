"""Calendar periods for statistics: days, weeks, months, nested so that days ⊂ weeks ⊂ months.

Weeks start on Monday and are clipped at month boundaries: the week of
Monday 30 March is two periods, 30–31 March and 1–5 April. Every week then
lies inside one month, and every period of one granularity is a union of
periods of the finer ones. That nesting is what lets disclosure control
reason about one month at a time: no published number ever spans two months
except a range total, which is published only as a sum of numbers already
published (see `stats_report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: date
    end: date  # inclusive
    granularity: Granularity
    # Periods key every published number: their hash is computed once (it is hashed millions of
    # times while a month is protected), and never pickled (a string's hash differs per process).
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.start, self.end, self.granularity)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Period], tuple[date, date, Granularity]]:
        return (Period, (self.start, self.end, self.granularity))

    @property
    def label(self) -> str:
        if self.granularity == Granularity.DAY:
            return self.start.isoformat()
        if self.granularity == Granularity.MONTH:
            return self.start.strftime("%Y-%m")
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@lru_cache(maxsize=8192)
def period_of(day: date, granularity: Granularity) -> Period:
    """The period of a granularity that contains `day` (periods are immutable: shared from a cache)."""
    if granularity == Granularity.DAY:
        return Period(day, day, granularity)
    if granularity == Granularity.MONTH:
        return Period(month_start(day), month_end(day), granularity)
    monday = day - timedelta(days=day.weekday())
    return Period(max(monday, month_start(day)), min(monday + timedelta(days=6), month_end(day)), granularity)


def periods_between(first: date, last: date, granularity: Granularity) -> list[Period]:
    """Every period of `granularity` meeting [first, last]: the range snapped outward to whole periods."""
    if last < first:
        return []
    periods = [period_of(first, granularity)]
    while periods[-1].end < last:
        periods.append(period_of(periods[-1].end + timedelta(days=1), granularity))
    return periods


def weeks_of(month: date) -> list[Period]:
    return periods_between(month_start(month), month_end(month), Granularity.WEEK)


def months_between(first: date, last: date) -> list[date]:
    """The first day of every month meeting [first, last]."""
    return [p.start for p in periods_between(first, last, Granularity.MONTH)]


def last_complete_day(today: date) -> date:
    """The newest day whose statistics can no longer change: the day before yesterday.

    A day is complete from the day after next: a count recorded in its last
    seconds may commit a moment after midnight, and publishing a day that can
    still change would let two queries be subtracted. A week or month is
    complete when its last day is.
    """
    return today - timedelta(days=2)


def is_complete(period: Period, today: date) -> bool:
    return period.end <= last_complete_day(today)


def last_settled_day(today: date) -> date:
    """The last day of the newest complete month (a month is settled from the 2nd of the next)."""
    return month_start(last_complete_day(today) + timedelta(days=1)) - timedelta(days=1)
