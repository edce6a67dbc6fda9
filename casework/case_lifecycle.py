"""A case's life after it is opened: acknowledged, in progress, closed, purged. Each step audit-logged.

new → acknowledged → in_progress → closed (closing is allowed from any
open status). Closing deletes the student's sealed notification address at
once and sets the retention date; `purge_expired` deletes the case with its
messages, envelopes, deliveries and audit rows when that date passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit, outbox
from casework.cases import open_case_for_officer
from casework.errors import InvalidTransition
from casework.policy import CasePolicy
from casework.responses import record_response
from storage.models import Case, CaseStatus, Delivery, DeliveryKind, DeliveryStatus, Outcome, ResponseMeasure


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    acknowledged_by: int | None
    already: bool  # True: someone had acknowledged it before; nothing changed


async def acknowledge(
    session: AsyncSession, policy: CasePolicy, case_id: int, officer_id: int, now: datetime
) -> Acknowledgement:
    """The officer takes the case: escalation stops, the others who got the tip are told."""
    case = await open_case_for_officer(session, case_id, officer_id)
    if case.status != CaseStatus.NEW:
        return Acknowledgement(case.acknowledged_by, already=True)
    case.status = CaseStatus.ACKNOWLEDGED
    case.acknowledged_at, case.acknowledged_by = now, officer_id
    case.next_escalation_at = None
    await record_response(session, policy, case, ResponseMeasure.ACKNOWLEDGEMENT, now)
    notified = await session.scalars(
        select(Delivery.officer_id)
        .where(
            Delivery.case_id == case_id,
            Delivery.kind.in_([DeliveryKind.TIP, DeliveryKind.ESCALATION, DeliveryKind.REMINDER]),
            Delivery.status == DeliveryStatus.SENT,
            Delivery.officer_id != officer_id,
        )
        .distinct()
    )
    await outbox.queue(
        session, DeliveryKind.ACK_NOTICE, sorted(i for i in notified if i), now, case_id=case_id
    )
    await audit.record_event(
        session, actor=audit.officer_actor(officer_id), action="case.acknowledged", case_id=case_id, now=now
    )
    return Acknowledgement(officer_id, already=False)


async def start_work(
    session: AsyncSession, policy: CasePolicy, case_id: int, officer_id: int, now: datetime
) -> None:
    """Mark the case in progress (acknowledging it first if nobody had)."""
    case = await open_case_for_officer(session, case_id, officer_id)
    if case.status == CaseStatus.IN_PROGRESS:
        raise InvalidTransition(f"case {case_id} is already in progress")
    if case.status == CaseStatus.NEW:
        await acknowledge(session, policy, case_id, officer_id, now)
    case.status = CaseStatus.IN_PROGRESS
    await audit.record_event(
        session, actor=audit.officer_actor(officer_id), action="case.in_progress", case_id=case_id, now=now
    )


async def close(
    session: AsyncSession, policy: CasePolicy, case_id: int, officer_id: int, outcome: str, now: datetime
) -> datetime:
    """Close with an outcome; forget the notification address; returns the purge date."""
    case = await open_case_for_officer(session, case_id, officer_id)
    case.status = CaseStatus.CLOSED
    case.outcome = Outcome(outcome)
    case.closed_at = now
    case.notify_address_sealed = None
    case.next_escalation_at = None
    case.retain_until = now + policy.retention
    # Undelivered notices about a closed case are moot.
    await session.execute(
        delete(Delivery).where(
            Delivery.case_id == case_id,
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.WAITING]),
            Delivery.kind.in_([DeliveryKind.REMINDER, DeliveryKind.ESCALATION, DeliveryKind.NOTIFY_STUDENT]),
        )
    )
    await audit.record_event(
        session,
        actor=audit.officer_actor(officer_id),
        action="case.closed",
        case_id=case_id,
        detail=f"outcome {case.outcome}",
        now=now,
    )
    return case.retain_until


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete closed cases past their retention date (messages, envelopes, deliveries and audit rows
    go with them); one count-only audit row says how many went."""
    expired = list(
        await session.scalars(
            select(Case.id)
            .where(Case.status == CaseStatus.CLOSED, Case.retain_until <= now)
            .order_by(Case.id)
        )
    )
    if expired:
        # Explicit, not left to the cascade alone: SQLite enforces foreign keys only when asked to.
        await audit.forget_cases(session, expired, now)
        await session.execute(
            delete(Case).where(Case.id.in_(expired)).execution_options(synchronize_session=False)
        )
    return len(expired)
