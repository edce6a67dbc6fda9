"""The outbox: deliveries written in the same transaction as what caused them, sent at least once.

A worker claims due rows (`claim_due`), sends them, and marks each sent,
to retry, or failed. A row left in 'sending' by a crashed worker is
claimed again after `stale_after`: that one send may be duplicated, nothing
is ever lost. Rows hold no text; the sender decrypts at send time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.models import Case, Delivery, DeliveryKind, DeliveryPart, DeliveryPriority, DeliveryStatus

DEFAULT_STALE_AFTER = timedelta(minutes=2)
# A claim takes at most this many rows of one recipient: what Telegram lets a chat get at once
# (bot.pacing.CHAT_BURST); the rest go in the next claims, in order.
PER_RECIPIENT = 3
MAX_ERROR_TYPE = 64
# A student's message (words or an image) reaches each officer once: it is not queued again to an
# officer who has it on its way or sent (a reroute from a gone officer, a waiting row released).
ONCE_PER_OFFICER = (DeliveryKind.STUDENT_REPLY,)
_HELD = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT)


async def queue(
    session: AsyncSession,
    kind: DeliveryKind,
    officer_ids: Iterable[int | None],
    now: datetime,
    *,
    case_id: int | None = None,
    message_id: int | None = None,
    not_before: datetime | None = None,
    alert_id: int | None = None,
    priority: int | None = None,
    status: DeliveryStatus = DeliveryStatus.PENDING,
) -> list[Delivery]:
    """One pending delivery per officer (None: the case's opted-in student), due now or at `not_before`.

    `priority` defaults to the case's: URGENT for an urgent case, so its rows are claimed first.
    `status` WAITING: rows no officer can receive yet (`queue_waiting`). A student's message is
    not queued to an officer who already has it on its way or sent (`ONCE_PER_OFFICER`).
    """
    if kind in ONCE_PER_OFFICER and message_id is not None and status != DeliveryStatus.WAITING:
        held = await holders(session, kind, message_id)
        officer_ids = [i for i in officer_ids if i is None or i not in held]
    if priority is None:
        priority = await priority_of(session, case_id)
    rows = [
        Delivery(
            kind=kind,
            case_id=case_id,
            message_id=message_id,
            officer_id=officer_id,
            status=status,
            attempts=0,
            next_attempt_at=not_before or now,
            created_at=now,
            alert_id=alert_id,
            priority=priority,
        )
        for officer_id in officer_ids
    ]
    session.add_all(rows)
    return rows


def delivery_row(
    kind: DeliveryKind,
    officer_id: int | None,
    now: datetime,
    *,
    case_id: int | None,
    message_id: int | None,
    due: datetime,
    priority: int,
    status: DeliveryStatus = DeliveryStatus.PENDING,
) -> dict[str, object]:
    """The columns of one row `queue` would add, for a Core INSERT of many (a batch of new cases)."""
    return {
        "kind": kind,
        "case_id": case_id,
        "message_id": message_id,
        "officer_id": officer_id,
        "status": status,
        "attempts": 0,
        "next_attempt_at": due,
        "created_at": now,
        "alert_id": None,
        "priority": priority,
    }


async def holders(session: AsyncSession, kind: DeliveryKind, message_id: int) -> set[int]:
    """The officers who have this message on its way (pending, sending) or sent, as `kind`."""
    found = await session.scalars(
        select(Delivery.officer_id).where(
            Delivery.kind == kind,
            Delivery.message_id == message_id,
            Delivery.officer_id.is_not(None),
            Delivery.status.in_(_HELD),
        )
    )
    return {officer_id for officer_id in found.all() if officer_id is not None}


async def priority_of(session: AsyncSession, case_id: int | None) -> int:
    """URGENT for the deliveries of an urgent case, NORMAL otherwise."""
    if case_id is None:
        return DeliveryPriority.NORMAL
    case = await session.get(Case, case_id)
    return DeliveryPriority.URGENT if case is not None and case.urgent else DeliveryPriority.NORMAL


async def queue_waiting(
    session: AsyncSession, kind: DeliveryKind, case_id: int, now: datetime, *, message_id: int | None = None
) -> Delivery:
    """A delivery no officer can receive yet; `routing.release_waiting` hands it over when one can."""
    (row,) = await queue(
        session, kind, [None], now, case_id=case_id, message_id=message_id, status=DeliveryStatus.WAITING
    )
    return row


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    *,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    per_recipient: int = PER_RECIPIENT,
) -> Sequence[Delivery]:
    """Claim up to `limit` due deliveries for this worker, urgent first, then oldest, and mark them 'sending';
    at most `per_recipient` of one recipient's (each recipient's first), so that a backlog for one chat
    (one case's many urgent additions, say) never fills a batch ahead of another school's urgent tip.

    On PostgreSQL concurrent workers skip each other's rows (FOR UPDATE SKIP
    LOCKED); on SQLite the transaction holds the write lock (BEGIN IMMEDIATE),
    which serialises claims.
    """
    due = or_(
        and_(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at <= now - stale_after),
    )
    order = (Delivery.priority.desc(), Delivery.next_attempt_at, Delivery.id)
    # A recipient: an officer, or (officer_id NULL: a notice to the student) the case's student.
    recipient = func.coalesce(Delivery.officer_id, -Delivery.case_id)
    ranked = (
        select(Delivery.id, func.row_number().over(partition_by=recipient, order_by=order).label("rank"))
        .where(due)
        .subquery()
    )
    candidates = (
        select(Delivery.id)
        .where(Delivery.id.in_(select(ranked.c.id).where(ranked.c.rank <= per_recipient)))
        .order_by(*order)
        .limit(limit)
    )
    if dialect.is_postgresql(session):
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = await session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(candidates.scalar_subquery()))
        .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.all(), key=lambda row: (-row.priority, row.next_attempt_at, row.id))


async def mark_sent(
    session: AsyncSession, delivery_id: int, telegram_message_id: int | None, now: datetime
) -> None:
    await _set(
        session, delivery_id, status=DeliveryStatus.SENT, sent_at=now, telegram_message_id=telegram_message_id
    )


async def mark_retry(session: AsyncSession, delivery_id: int, error_type: str, retry_at: datetime) -> None:
    """Back to 'pending' until `retry_at`. `error_type` is a class name, never an error's text."""
    await _set(
        session,
        delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at=retry_at,
        claimed_at=None,
        last_error=error_type[:MAX_ERROR_TYPE],
    )


async def mark_failed(session: AsyncSession, delivery_id: int, error_type: str) -> None:
    await _set(session, delivery_id, status=DeliveryStatus.FAILED, last_error=error_type[:MAX_ERROR_TYPE])


async def _set(session: AsyncSession, delivery_id: int, **values: object) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def waiting_for_case(session: AsyncSession, case_id: int) -> bool:
    """True if a delivery of the case waits for an officer who can receive it."""
    found = await session.scalar(
        select(Delivery.id)
        .where(Delivery.case_id == case_id, Delivery.status == DeliveryStatus.WAITING)
        .limit(1)
    )
    return found is not None


async def waiting_for_school(session: AsyncSession, school_id: int | None) -> Sequence[Delivery]:
    query = (
        select(Delivery)
        .join(Case, Case.id == Delivery.case_id)
        .where(Delivery.status == DeliveryStatus.WAITING)
        .order_by(Delivery.id)
    )
    query = query.where(Case.school_id.is_(None) if school_id is None else Case.school_id == school_id)
    return (await session.scalars(query)).all()


async def record_part(session: AsyncSession, delivery_id: int, telegram_message_id: int) -> None:
    """One Telegram message of a delivery was sent: a reply to it maps to the delivery's case."""
    session.add(DeliveryPart(delivery_id=delivery_id, telegram_message_id=telegram_message_id))


async def recorded_parts(session: AsyncSession, delivery_id: int) -> list[int]:
    """The Telegram messages already recorded for a delivery, in the order they were sent."""
    found = await session.scalars(
        select(DeliveryPart.telegram_message_id)
        .where(DeliveryPart.delivery_id == delivery_id)
        .order_by(DeliveryPart.id)
    )
    return list(found.all())


async def sending_to(session: AsyncSession, officer_id: int) -> bool:
    """True while a delivery to this officer is being sent (its message ids not yet all recorded)."""
    row = await session.scalar(
        select(Delivery.id)
        .where(Delivery.officer_id == officer_id, Delivery.status == DeliveryStatus.SENDING)
        .limit(1)
    )
    return row is not None


async def case_of_sent_message(
    session: AsyncSession, officer_id: int, telegram_message_id: int
) -> int | None:
    """The case a message we sent this officer was about (an officer replying to any part of a tip)."""
    part_of = select(DeliveryPart.delivery_id).where(DeliveryPart.telegram_message_id == telegram_message_id)
    return await session.scalar(
        select(Delivery.case_id)
        .where(
            Delivery.officer_id == officer_id,
            Delivery.case_id.is_not(None),
            or_(
                Delivery.id.in_(part_of),
                and_(
                    Delivery.telegram_message_id == telegram_message_id,
                    Delivery.status == DeliveryStatus.SENT,
                ),
            ),
        )
        .order_by(Delivery.id.desc())
        .limit(1)
    )


async def cancel_waiting(session: AsyncSession, case_id: int, kind: DeliveryKind) -> int:
    """Drop deliveries of a case that wait for a receiver (a new route took them over); returns how many."""
    result = await session.execute(
        delete(Delivery)
        .where(Delivery.case_id == case_id, Delivery.kind == kind, Delivery.status == DeliveryStatus.WAITING)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def cancel_held(session: AsyncSession, case_id: int, kind: DeliveryKind, now: datetime) -> int:
    """Drop deliveries of a case that are still held for later (not yet due); returns how many."""
    result = await session.execute(
        delete(Delivery)
        .where(
            Delivery.case_id == case_id,
            Delivery.kind == kind,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at > now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
