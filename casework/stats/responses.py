"""Response times, kept apart from cases (no case id) so program evaluation survives the purge.

What may be published of them: a median or a percentile is always some
case's own value (or the mean of two), so a figure over a handful of cases
tells a reader how long one identifiable case waited. Figures are therefore
published only for at least `MIN_CASES_FOR_TIMES` cases, and rounded to
`ROUND_TO_MINUTES`, so no single case's exact time comes out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from casework.policy import CasePolicy
from storage.models import Case, ResponseMeasure, ResponseTime


async def record_response(
    session: AsyncSession, policy: CasePolicy, case: Case, measure: ResponseMeasure, now: datetime
) -> None:
    """How long `case` waited for its acknowledgement or first reply, on the day it was opened."""
    session.add(
        ResponseTime(
            school_id=case.school_id,
            day=case.created_at.astimezone(policy.timezone).date(),
            measure=measure,
            seconds=max(0, round((now - case.created_at).total_seconds())),
        )
    )


MIN_CASES_FOR_TIMES = 10
ROUND_TO_MINUTES = 5


@dataclass(frozen=True, slots=True)
class PublishedTimes:
    """Median and 90th percentile in whole minutes, multiples of `ROUND_TO_MINUTES`."""

    median_minutes: int
    p90_minutes: int


def publishable(seconds: Sequence[int]) -> PublishedTimes | None:
    """The median and 90th percentile of these waits as they may be shown, or None (too few cases)."""
    if len(seconds) < MIN_CASES_FOR_TIMES:
        return None
    values = sorted(seconds)
    middle = len(values) // 2
    median = float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    p90 = float(values[max(0, math.ceil(0.9 * len(values)) - 1)])  # nearest rank
    return PublishedTimes(round_minutes(median), round_minutes(p90))


def round_minutes(seconds: float) -> int:
    """To the nearest multiple of `ROUND_TO_MINUTES` minutes, halves up (7.5 min -> 10)."""
    step = ROUND_TO_MINUTES * 60
    return math.floor(seconds / step + 0.5) * ROUND_TO_MINUTES
