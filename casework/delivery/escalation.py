"""Unacknowledged cases move up the chain: primary → backup → supervisors.

An urgent case unacknowledged after URGENT_ACK_MINUTES goes to the next
link (the earlier links keep it). A non-urgent one first gets a reminder to
those who have it after REMIND_AFTER_HOURS, then goes up the chain after
as long again. At the top of the chain the supervisors are reminded at the
same pace until someone acknowledges. Nothing needs re-sealing: every link
was sealed at creation. The officers who already had the case are told it
was passed on (an escalation notice), so nobody learns it from a colleague.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from casework.cases.intake import open_case_for_officer
from casework.delivery import outbox, routing
from casework.policy import CasePolicy
from storage import dialect
from storage.models import Case, CaseStatus, Delivery, DeliveryKind, DeliveryStatus


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
        passed_over = await had_the_case(session, case.id, exclude=route.officer_ids)
        await outbox.queue(session, DeliveryKind.ESCALATION_NOTICE, passed_over, now, case_id=case.id)
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


async def had_the_case(session: AsyncSession, case_id: int, *, exclude: Iterable[int] = ()) -> list[int]:
    """The officers a tip, escalation or reminder of the case reached (sent), ascending."""
    skip = set(exclude)
    found = await session.scalars(
        select(Delivery.officer_id)
        .where(
            Delivery.case_id == case_id,
            Delivery.kind.in_([DeliveryKind.TIP, DeliveryKind.ESCALATION, DeliveryKind.REMINDER]),
            Delivery.status == DeliveryStatus.SENT,
            Delivery.officer_id.is_not(None),
        )
        .distinct()
    )
    return sorted(i for i in found if i is not None and i not in skip)


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
