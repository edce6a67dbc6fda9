"""What a delivery that can never arrive means for its case.

An officer whose chat answers 403 (they blocked the bot) is marked
unreachable; what was on its way to them goes to whoever can receive it
instead — the rest of the chain, else it waits for the next enrollment — so
a tip is never silently lost. A student whose chat is gone loses their
notification address: notices are optional, and the address is the one
student identifier we keep, so we keep it no longer than useful.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from casework import outbox, routing
from casework.policy import CasePolicy
from storage.models import Case, CaseStatus, Delivery, DeliveryKind, DeliveryStatus

_MOOT_ONCE_ACKNOWLEDGED = (DeliveryKind.TIP, DeliveryKind.ESCALATION, DeliveryKind.REMINDER)


async def reroute(session: AsyncSession, policy: CasePolicy, delivery_id: int, now: datetime) -> int:
    """Hand an undeliverable officer delivery to whoever can receive it now; returns how many got it."""
    row = await session.get(Delivery, delivery_id)
    if row is None or row.case_id is None:
        return 0
    row.status, row.last_error = DeliveryStatus.FAILED, row.last_error or "Unreachable"
    case = await session.get(Case, row.case_id)
    if case is None or case.status == CaseStatus.CLOSED:
        return 0
    kind = DeliveryKind(row.kind)
    if kind == DeliveryKind.ACK_NOTICE or (kind in _MOOT_ONCE_ACKNOWLEDGED and case.status != CaseStatus.NEW):
        return 0
    receivers = tuple(i for i in await routing.current_receivers(session, case, now) if i != row.officer_id)
    if not receivers and kind in _MOOT_ONCE_ACKNOWLEDGED:
        route = await routing.next_receivers(session, case.school_id, after=case.escalation_level, now=now)
        if route is not None:
            case.escalation_level = route.level
            receivers = route.officer_ids
    if not receivers:
        await outbox.queue_waiting(session, kind, case.id, now, message_id=row.message_id)
        return 0
    await outbox.queue(session, kind, receivers, now, case_id=case.id, message_id=row.message_id)
    return len(receivers)


async def student_unreachable(session: AsyncSession, delivery_id: int, error_type: str) -> None:
    """The opted-in student's chat is gone: fail the notice and forget the address."""
    row = await session.get(Delivery, delivery_id)
    if row is None:
        return
    row.status, row.last_error = DeliveryStatus.FAILED, error_type[: outbox.MAX_ERROR_TYPE]
    if row.case_id is not None:
        case = await session.get(Case, row.case_id)
        if case is not None:
            case.notify_address_sealed = None
