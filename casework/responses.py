"""Response times, kept apart from cases (no case id) so program evaluation survives the purge."""

from __future__ import annotations

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
