"""A case's life after it is opened: acknowledged, in progress, closed, purged. Each step audit-logged.

new → acknowledged → in_progress → closed (closing is allowed from any
open status), and closed → in_progress again (`reopen`). Closing deletes the
student's sealed notification address and sets the retention date; a last
message to the student keeps the address only until its notice is sent
(`forget_closed_address`). `purge_expired` deletes the case with its
messages, envelopes, deliveries and audit rows when that date passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from casework.cases.intake import add_message, is_recipient, open_case_for_officer
from casework.delivery import escalation, outbox
from casework.errors import AccessDenied, InvalidTransition, UnknownCase
from casework.policy import CasePolicy
from casework.stats.responses import record_response
from casework.vault.keys import KeyRing
from storage.models import (
    Case,
    CaseStatus,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Direction,
    EvidenceImage,
    Outcome,
    ResponseMeasure,
)


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
    notified = await escalation.had_the_case(session, case_id, exclude=[officer_id])
    await outbox.queue(session, DeliveryKind.ACK_NOTICE, notified, now, case_id=case_id)
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
    session: AsyncSession,
    policy: CasePolicy,
    case_id: int,
    officer_id: int,
    outcome: Outcome,
    now: datetime,
    *,
    last_message: str | None = None,
    keys: KeyRing | None = None,
) -> datetime:
    """Close with an outcome, and optionally a last message to the student; returns the purge date.

    The last message is stored like any officer reply (sealed, authenticated, `cases.add_message`).
    Without one, the notification address is deleted at once. With one, and an opted-in student,
    the address is kept only until that one notice is sent or fails (`forget_closed_address`):
    the student must hear of the officer's last word, and nothing else can be queued for a closed case.
    """
    case = await open_case_for_officer(session, case_id, officer_id)
    chosen = Outcome(outcome)  # a plain string that is no outcome fails before anything is written
    # Undelivered notices about a closing case are moot (the last message queues its own notice below).
    await session.execute(
        delete(Delivery).where(
            Delivery.case_id == case_id,
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.WAITING]),
            Delivery.kind.in_(_MOOT_WHEN_CLOSED),
        )
    )
    if last_message is not None and last_message.strip():
        if keys is None:
            raise ValueError("a last message is sealed: pass the key ring")
        await add_message(
            session, keys, policy, case_id, direction=Direction.OFFICER, body={"text": last_message},
            now=now, author_officer_id=officer_id,
        )  # fmt: skip
    notice_pending = await _student_notice_pending(session, case_id)
    case.status = CaseStatus.CLOSED
    case.outcome = chosen
    case.closed_at = now
    if not notice_pending:
        case.notify_address_sealed = None
    case.next_escalation_at = None
    case.retain_until = now + policy.retention
    await audit.record_event(
        session,
        actor=audit.officer_actor(officer_id),
        action="case.closed",
        case_id=case_id,
        detail=f"outcome {chosen}" + (", with a last message" if last_message else ""),
        now=now,
    )
    return case.retain_until


_MOOT_WHEN_CLOSED = [
    DeliveryKind.REMINDER,
    DeliveryKind.ESCALATION,
    DeliveryKind.ESCALATION_NOTICE,
    DeliveryKind.NOTIFY_STUDENT,
]


async def forget_closed_address(session: AsyncSession, case_id: int) -> bool:
    """After a student notice is done (sent or failed): a closed case's address goes, unless another
    notice still waits. Returns True if an address was deleted."""
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None or case.status != CaseStatus.CLOSED or case.notify_address_sealed is None:
        return False
    if await _student_notice_pending(session, case_id):
        return False
    case.notify_address_sealed = None
    return True


async def _student_notice_pending(session: AsyncSession, case_id: int) -> bool:
    """A notice to the case's student is still to be sent (pending, or being sent)."""
    found = await session.scalar(
        select(Delivery.id)
        .where(
            Delivery.case_id == case_id,
            Delivery.kind == DeliveryKind.NOTIFY_STUDENT,
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
        .limit(1)
    )
    return found is not None


async def reopen(session: AsyncSession, case_id: int, officer_id: int, now: datetime) -> None:
    """A closed case is worked on again: back to in progress, audited.

    Escalation does not restart: an officer of the case reopened it, so it has someone (the one who
    acknowledged it, else the reopening officer, who then receives the student's messages).
    Retention stops: an open case is never purged; closing again sets a new date. The notification
    address deleted at close cannot come back (only the student's chat knows it): the student sees
    new messages with /status.
    """
    if not await is_recipient(session, case_id, officer_id):
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    if case.status != CaseStatus.CLOSED:
        raise InvalidTransition(f"case {case_id} is not closed")
    case.status = CaseStatus.IN_PROGRESS
    case.outcome = None
    case.closed_at = None
    case.retain_until = None
    case.next_escalation_at = None
    if case.acknowledged_by is None:
        case.acknowledged_by, case.acknowledged_at = officer_id, now
    await audit.record_event(
        session, actor=audit.officer_actor(officer_id), action="case.reopened", case_id=case_id, now=now
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete closed cases past their retention date (messages, envelopes, deliveries and audit rows
    go with them); one count-only audit row says how many went.

    Also a safety net for the close: a closed case's address that outlived its last notice (the
    worker stopped between the notice and `forget_closed_address`) is deleted here.
    """
    kept = await session.scalars(
        select(Case.id).where(Case.status == CaseStatus.CLOSED, Case.notify_address_sealed.is_not(None))
    )
    for case_id in list(kept):
        await forget_closed_address(session, case_id)
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
        # Images, the bulk of a case, explicitly too (their messages and the case cascade to them).
        await session.execute(
            delete(EvidenceImage)
            .where(EvidenceImage.case_id.in_(expired))
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(Case).where(Case.id.in_(expired)).execution_options(synchronize_session=False)
        )
    return len(expired)
