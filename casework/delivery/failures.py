"""What a delivery that can never arrive means for its case.

An officer whose chat is gone (403, chat not found, deactivated) is marked
unreachable; what was on its way to them goes to whoever can receive it
instead — the rest of the chain, else it waits for the next enrollment — so
a tip is never silently lost. A message Telegram refused for what it
contains is a different thing: the officer is fine, the message is not. It
is failed and alerted (`rendering_failed`), never rerouted, since the same
content would fail for everyone up the chain. When no tip of a case is
sent or still on its way, the case is marked `nobody_reached`: the student
learns it (their /status, and the opt-in notice) and the supervisors are
alerted. A student whose chat is gone loses their notification address:
notices are optional, and the address is the one student identifier we
keep, so we keep it no longer than useful.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.delivery import alerts, outbox, routing
from casework.policy import CasePolicy
from storage.models import Alert, AlertKind, Case, CaseStatus, Delivery, DeliveryKind, DeliveryStatus

_MOOT_ONCE_ACKNOWLEDGED = (DeliveryKind.TIP, DeliveryKind.ESCALATION, DeliveryKind.REMINDER)
_ON_ITS_WAY = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT)
# Notices about one officer's own view of a case ("taken by X", "passed on"): nobody else should get them.
_PERSONAL_NOTICES = (DeliveryKind.ACK_NOTICE, DeliveryKind.ESCALATION_NOTICE)


async def reroute(session: AsyncSession, policy: CasePolicy, delivery_id: int, now: datetime) -> int:
    """Hand an undeliverable officer delivery to whoever can receive it now; returns how many got it."""
    row = await session.get(Delivery, delivery_id)
    if row is not None and row.kind == DeliveryKind.ALERT:
        row.status, row.last_error = DeliveryStatus.FAILED, row.last_error or "Unreachable"
        await alert_undelivered(session, row, now)
        return 0  # the other supervisors got their own copy
    if row is None or row.case_id is None:
        return 0
    # The case's row lock first: two instances rerouting rows of one case at once (two officers gone
    # in the same instant) take turns, and the second reads who has the case as the first left it.
    # Otherwise each takes the other's failing officer for a holder, and the case reaches nobody.
    # (PostgreSQL; SQLite's one writer already serialises them.)
    case, kind = await session.get(Case, row.case_id, with_for_update=True), row.kind
    row.status, row.last_error = DeliveryStatus.FAILED, row.last_error or "Unreachable"
    if (
        case is None
        or case.status == CaseStatus.CLOSED
        or kind in _PERSONAL_NOTICES
        or (kind in _MOOT_ONCE_ACKNOWLEDGED and case.status != CaseStatus.NEW)
    ):
        return 0
    receivers = await _others_in_the_link(session, case, kind, row.officer_id, now)
    if receivers is None:
        return 0
    if not receivers and kind in _MOOT_ONCE_ACKNOWLEDGED:
        route = await routing.next_receivers(session, case.school_id, after=case.escalation_level, now=now)
        if route is not None:
            case.escalation_level = route.level
            receivers = route.officer_ids
    if not receivers:
        await outbox.queue_waiting(session, kind, case.id, now, message_id=row.message_id)
        await session.flush()
        await check_reached(session, case.id, now)
        return 0
    await outbox.queue(session, kind, receivers, now, case_id=case.id, message_id=row.message_id)
    return len(receivers)


async def _others_in_the_link(
    session: AsyncSession, case: Case, kind: DeliveryKind, gone: int | None, now: datetime
) -> tuple[int, ...] | None:
    """Who else receives the case now; None if each of them has it already and nothing is to be done.

    The case reaches each officer once: an officer of the links reached so far (a second primary)
    who has it on its way or sent is not sent it again. A tip or reminder then needs nothing more
    (the case's escalation goes on as set); an escalation, whose point was to reach someone new, goes
    on up the chain (an empty answer, as when nobody else is in those links).
    """
    receivers = tuple(i for i in await routing.current_receivers(session, case, now) if i != gone)
    if kind not in _MOOT_ONCE_ACKNOWLEDGED or not receivers:
        return receivers
    having = await _officers_with_the_case(session, case.id)
    new = tuple(i for i in receivers if i not in having)
    if new or kind == DeliveryKind.ESCALATION:
        return new
    return None


async def _officers_with_the_case(session: AsyncSession, case_id: int) -> set[int]:
    """Officers who have this case's tip (or its escalation, or a reminder) on its way or sent."""
    found = await session.scalars(
        select(Delivery.officer_id).where(
            Delivery.case_id == case_id,
            Delivery.kind.in_(_MOOT_ONCE_ACKNOWLEDGED),
            Delivery.status.in_(_ON_ITS_WAY),
            Delivery.officer_id.is_not(None),
        )
    )
    return {officer_id for officer_id in found.all() if officer_id is not None}


async def rendering_failed(
    session: AsyncSession, delivery_id: int, error_type: str, now: datetime, *, alert: AlertKind
) -> None:
    """Telegram refused this message even in plain text, or it would not decrypt: fail it and alert.

    Never rerouted: the content, not the officer, is the problem. An alert about an alert is not
    raised again (a loop), it is only failed.
    """
    row = await session.get(Delivery, delivery_id)
    if row is None:
        return
    row.status, row.last_error = DeliveryStatus.FAILED, error_type[: outbox.MAX_ERROR_TYPE]
    if row.kind == DeliveryKind.ALERT:
        await alert_undelivered(session, row, now)
        return
    if not await alerts.list_alerts(session, kind=alert, case_id=row.case_id, limit=1) or row.case_id is None:
        await alerts.raise_alert(session, alert, now, case_id=row.case_id, officer_id=row.officer_id)
    if row.case_id is not None:
        await session.flush()
        await check_reached(session, row.case_id, now)


async def undelivered(
    session: AsyncSession, delivery_id: int, error_type: str, now: datetime, *, gave_up: bool = False
) -> None:
    """A row that will not be sent (tried too often, or it cannot be rendered for its officer): failed.

    If it was the last tip of its case on its way, the case reached nobody: the student learns it
    and the supervisors are alerted (`check_reached`), as when a rendering is refused. An alert
    that gave up (`gave_up`) is listed for `sro alerts`, never sent on.
    """
    row = await session.get(Delivery, delivery_id)
    if row is None:
        return
    row.status, row.last_error = DeliveryStatus.FAILED, error_type[: outbox.MAX_ERROR_TYPE]
    if row.kind == DeliveryKind.ALERT:
        if gave_up:
            await alert_undelivered(session, row, now)
        return
    if row.case_id is not None and row.kind in _MOOT_ONCE_ACKNOWLEDGED:
        await session.flush()
        await check_reached(session, row.case_id, now)


async def check_reached(session: AsyncSession, case_id: int, now: datetime) -> bool:
    """Mark the case `nobody_reached`, telling the student and supervisors, if no tip is sent or on its way.

    Returns whether someone was reached or may still be.
    """
    case = await session.get(Case, case_id)
    if case is None or case.status != CaseStatus.NEW:
        return True
    alive = await session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.case_id == case_id,
            Delivery.kind.in_(_MOOT_ONCE_ACKNOWLEDGED),
            Delivery.status.in_(_ON_ITS_WAY),
        )
    )
    if alive:
        return True
    if not case.nobody_reached:
        case.nobody_reached = True
        await alerts.raise_alert(session, AlertKind.NOBODY_REACHABLE, now, case_id=case_id)
        if case.notify_address_sealed is not None:
            await outbox.queue(session, DeliveryKind.NOTIFY_STUDENT, [None], now, case_id=case_id)
    return False


async def reached(session: AsyncSession, case_id: int) -> None:
    """A tip of the case was delivered after all (e.g. released to a newly enrolled officer)."""
    case = await session.get(Case, case_id)
    if case is not None and case.nobody_reached:
        case.nobody_reached = False


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


async def nobody_reached(session: AsyncSession, case_id: int) -> bool:
    """True if the case's tip reached no officer in the end (the student's /status says so)."""
    case = await session.get(Case, case_id)
    return case is not None and case.nobody_reached


async def alert_undelivered(session: AsyncSession, row: Delivery, now: datetime) -> None:
    """An alert's message could not reach a supervisor: listed for `sro alerts`, never sent on (no loop)."""
    session.add(
        Alert(kind=AlertKind.ALERT_FAILED, case_id=row.case_id, officer_id=row.officer_id, created_at=now)
    )
