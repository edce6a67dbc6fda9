"""The audit trail: who did what to which case, when. Never content, codes or Telegram ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent


def officer_actor(officer_id: int) -> str:
    return f"officer:{officer_id}"


async def record_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    now: datetime,
    case_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Append one event. `actor`: 'admin', 'system', 'student' or 'officer:<id>'."""
    session.add(AuditEvent(at=now, actor=actor, action=action, case_id=case_id, detail=detail))


async def list_events(
    session: AsyncSession, *, case_id: int | None = None, limit: int | None = None
) -> Sequence[AuditEvent]:
    """Events oldest first; only one case's when `case_id` is given; the newest `limit` if given."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if case_id is not None:
        query = query.where(AuditEvent.case_id == case_id)
    if limit is not None:
        query = query.limit(limit)
    return list(reversed((await session.scalars(query)).all()))
