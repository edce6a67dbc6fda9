"""Unacknowledged cases move up the chain: primary → backup → supervisors.

An urgent case unacknowledged after URGENT_ACK_MINUTES goes to the next
link (the earlier links keep it). A non-urgent one first gets a reminder to
those who have it after REMIND_AFTER_HOURS, then goes up the chain after
as long again. At the top of the chain the supervisors are reminded at the
same pace until someone acknowledges. Nothing needs re-sealing: every link
was sealed at creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit, outbox, routing
from casework.cases import open_case_for_officer
from casework.policy import CasePolicy
from storage import dialect
from storage.models import Case, CaseStatus, DeliveryKind


@dataclass(frozen=True, slots=True)
class EscalationRun:
    escalated: int
    reminded: int


async def process_due(
    session: AsyncSession, policy: CasePolicy, now: datetime, *, limit: int = 100
) -> EscalationRun:
    """Escalate or remind every unacknowledged case whose time has come."""
    query = (
        select(Case)
        .where(Case.status == CaseStatus.NEW, Case.next_escalation_at <= now)
        .order_by(Case.next_escalation_at, Case.id)
        .limit(limit)
    )
    if dialect.is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    escalated = reminded = 0
    for case in (await session.scalars(query)).all():
        interval = policy.urgent_ack if case.urgent else policy.remind_after
        case.next_escalation_at = now + interval
        if not case.urgent and case.reminded_at is None:
            reminded += await _remind(session, case, now)
            continue
        route = await routing.next_receivers(session, case.school_id, after=case.escalation_level, now=now)
        if route is None:
            reminded += await _remind(session, case, now)
            continue
        case.escalation_level = route.level
        await outbox.queue(session, DeliveryKind.ESCALATION, route.officer_ids, now, case_id=case.id)
        await audit.record_event(
            session,
            actor="system",
            action="case.escalated",
            case_id=case.id,
            now=now,
            detail=f"to {routing.LEVEL_NAMES[route.level]}",
        )
        escalated += 1
    return EscalationRun(escalated, reminded)


async def _remind(session: AsyncSession, case: Case, now: datetime) -> int:
    receivers = await routing.current_receivers(session, case, now)
    case.reminded_at = now
    if not receivers:
        return 0
    await outbox.queue(session, DeliveryKind.REMINDER, receivers, now, case_id=case.id)
    return 1


async def escalate_now(
    session: AsyncSession, policy: CasePolicy, case_id: int, officer_id: int, now: datetime
) -> routing.Route | None:
    """An officer sends the case up the chain at once; None when it is already at the top."""
    case = await open_case_for_officer(session, case_id, officer_id)
    route = await routing.next_receivers(session, case.school_id, after=case.escalation_level, now=now)
    if route is None:
        return None
    case.escalation_level = route.level
    if case.status == CaseStatus.NEW:
        case.next_escalation_at = now + (policy.urgent_ack if case.urgent else policy.remind_after)
    await outbox.queue(session, DeliveryKind.ESCALATION, route.officer_ids, now, case_id=case.id)
    await audit.record_event(
        session,
        actor=audit.officer_actor(officer_id),
        action="case.escalated",
        case_id=case.id,
        now=now,
        detail=f"to {routing.LEVEL_NAMES[route.level]}",
    )
    return route
