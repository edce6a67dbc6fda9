"""Recording anonymous statistics: one count per school, intent, day and urgency.

No text, no identifier, no link to a case: the row says only that on this
day, at this school, one more message meant this. Reading them back goes
through `stats_report`, which applies disclosure control.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from casework.policy import CasePolicy
from storage import dialect
from storage.models import INTENT_STATS_CELL, IntentStat


async def record(
    session: AsyncSession, *, school_id: int | None, intent: str, urgent: bool, day: date
) -> None:
    """Add one to a cell, creating it if needed (an atomic upsert on both databases)."""
    statement = dialect.insert(session, IntentStat).values(
        school_id=school_id, intent=intent, day=day, urgent=urgent, count=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=list(INTENT_STATS_CELL), set_={"count": IntentStat.count + 1}
        )
    )


async def record_now(
    session: AsyncSession,
    policy: CasePolicy,
    *,
    school_id: int | None,
    intent: str,
    urgent: bool,
    now: datetime,
) -> None:
    """`record` on today's date in the program's time zone."""
    await record(
        session, school_id=school_id, intent=intent, urgent=urgent, day=now.astimezone(policy.timezone).date()
    )
