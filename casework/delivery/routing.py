"""Who a case is sealed for, and who receives it now: the chain primary → backup → supervisors.

Sealing and receiving differ on purpose. A case is sealed at creation for
everyone who may ever need it — the school's primary and backup officers,
enrolled or not yet, and every active supervisor — so escalation never
waits for a re-seal. It is *delivered* only to officers who can receive it
now: active, enrolled, and not marked unreachable (Telegram answered 403).

Every officer and assignment row these functions return has passed its MAC
(`directory_auth`): a row a database writer inserted or altered is left
out, and alerted, so it neither receives a tip nor is sealed a case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from casework.delivery import outbox
from casework.policy import CasePolicy
from casework.vault import directory_auth
from storage.models import (
    Assignment,
    AssignmentKind,
    Case,
    CaseStatus,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Officer,
    OfficerLanguage,
    Role,
)

PRIMARY, BACKUP, SUPERVISORS = 0, 1, 2
# A case message body's key for the language the student wrote in, when not English ("fr"): sealed
# with the words, read by the officer's rendering; the first message's routes its tip (issue 14).
LANGUAGE_KEY = "language"
LEVEL_NAMES = ("primary officers", "backup officers", "supervisors")


@dataclass(frozen=True, slots=True)
class Route:
    level: int  # PRIMARY, BACKUP or SUPERVISORS
    officer_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SealingRecipient:
    officer_id: int
    public_key: bytes


async def _assigned(
    session: AsyncSession,
    school_id: int,
    kinds: Sequence[str],
    now: datetime,
    *condition: ColumnElement[bool],
) -> list[Officer]:
    """Officers with a current, verified assignment of these kinds at the school (verified too)."""
    rows = await session.execute(
        select(Assignment, Officer)
        .join(Officer, Officer.id == Assignment.officer_id)
        .where(
            Assignment.school_id == school_id,
            Assignment.kind.in_(kinds),
            Assignment.starts_at <= now,
            or_(Assignment.ends_at.is_(None), Assignment.ends_at > now),
            *condition,
        )
        .order_by(Officer.id, Assignment.id)
    )
    found: dict[int, Officer] = {}
    for assignment, officer in rows.all():
        if officer.id not in found and await directory_auth.assignment_ok(session, assignment, now):
            found[officer.id] = officer
    return await directory_auth.verified_officers(session, list(found.values()), now)


def _reachable() -> ColumnElement[bool]:
    return and_(Officer.active, Officer.telegram_chat_id.is_not(None), Officer.unreachable_at.is_(None))


async def _supervisors(
    session: AsyncSession, now: datetime, *condition: ColumnElement[bool]
) -> list[Officer]:
    rows = await session.scalars(
        select(Officer).where(Officer.role == Role.SUPERVISOR, *condition).order_by(Officer.id)
    )
    return await directory_auth.verified_officers(session, list(rows.all()), now)


async def receivers_at(
    session: AsyncSession, school_id: int | None, level: int, now: datetime
) -> tuple[int, ...]:
    """The verified officers who can receive now at one level of a school's chain (ids, ascending)."""
    if level == SUPERVISORS:
        officers = await _supervisors(session, now, _reachable())
    elif school_id is None:
        return ()
    else:
        kind = AssignmentKind.PRIMARY if level == PRIMARY else AssignmentKind.BACKUP
        officers = await _assigned(session, school_id, [kind], now, _reachable())
    return tuple(sorted(officer.id for officer in officers))


async def first_receivers(session: AsyncSession, school_id: int | None, now: datetime) -> Route | None:
    """The first non-empty link: primaries, else backups, else supervisors; None if nobody can receive."""
    return await next_receivers(session, school_id, after=-1, now=now)


async def next_receivers(
    session: AsyncSession, school_id: int | None, *, after: int, now: datetime
) -> Route | None:
    """The first non-empty link above level `after`, for escalation; None at the top of the chain."""
    for level in range(after + 1, SUPERVISORS + 1):
        officers = await receivers_at(session, school_id, level, now)
        if officers:
            return Route(level, officers)
    return None


async def current_receivers(session: AsyncSession, case: Case, now: datetime) -> tuple[int, ...]:
    """Who gets a student's later message: the acknowledging officer, else every link reached so far."""
    if case.acknowledged_by is not None:
        officer = await session.get(Officer, case.acknowledged_by)
        if (
            officer is not None
            and officer.active
            and officer.telegram_chat_id
            and officer.unreachable_at is None
            and await directory_auth.officer_ok(session, officer, now)
        ):
            return (officer.id,)
    found: list[int] = []
    for level in range(case.escalation_level + 1):
        found.extend(i for i in await receivers_at(session, case.school_id, level, now) if i not in found)
    return tuple(found)


async def sealing_recipients(
    session: AsyncSession, school_id: int | None, now: datetime
) -> list[SealingRecipient]:
    """Everyone a new case of this school is sealed for (enrolled or not): see the module docstring."""
    officers = {officer.id: officer for officer in await _supervisors(session, now, and_(Officer.active))}
    if school_id is not None:
        kinds = [AssignmentKind.PRIMARY, AssignmentKind.BACKUP]
        officers.update(
            (o.id, o) for o in await _assigned(session, school_id, kinds, now, and_(Officer.active))
        )
    return [SealingRecipient(i, bytes(officers[i].public_key)) for i in sorted(officers)]


async def new_case_plan(
    session: AsyncSession, school_id: int | None, now: datetime, *, language: str | None = None
) -> tuple[list[SealingRecipient], Route | None]:
    """`sealing_recipients` and `first_receivers` of a new case, from one query (both read the same rows).

    Every row is verified as those functions verify it, in the same order, so a forged row is left
    out and alerted alike. A tip in `language` (not English) goes to the link's officers who read
    it, when the link has any who can receive now (`prefer_readers`); sealing is unchanged.
    """
    current = and_(
        Assignment.school_id == school_id if school_id is not None else false(),
        Assignment.kind.in_([AssignmentKind.PRIMARY, AssignmentKind.BACKUP]),
        Assignment.starts_at <= now,
        or_(Assignment.ends_at.is_(None), Assignment.ends_at > now),
    )
    rows = (
        await session.execute(
            select(Officer, Assignment)
            .outerjoin(Assignment, and_(Assignment.officer_id == Officer.id, current))
            .where(Officer.active, or_(Officer.role == Role.SUPERVISOR, Assignment.id.is_not(None)))
            .order_by(Officer.id, Assignment.id)
        )
    ).all()
    officers = {officer.id: officer for officer, _ in rows}
    supervisors = [o for o in officers.values() if o.role == Role.SUPERVISOR]
    sealed = {o.id: o for o in await directory_auth.verified_officers(session, supervisors, now)}
    assigned = [(o, a) for o, a in rows if a is not None]
    sealed.update((o.id, o) for o in await _first_verified(session, assigned, now))
    recipients = [SealingRecipient(i, bytes(sealed[i].public_key)) for i in sorted(sealed)]
    for level, kind in ((PRIMARY, AssignmentKind.PRIMARY), (BACKUP, AssignmentKind.BACKUP)):
        at_level = [(o, a) for o, a in assigned if a.kind == kind and _can_receive(o)]
        receivers = await _first_verified(session, at_level, now)
        if receivers:
            return recipients, Route(
                level, await prefer_readers(session, [o.id for o in receivers], language)
            )
    reachable = [o for o in supervisors if _can_receive(o)]
    receivers = await directory_auth.verified_officers(session, reachable, now)
    ids = await prefer_readers(session, [o.id for o in receivers], language)
    route = Route(SUPERVISORS, ids) if receivers else None
    return recipients, route


async def prefer_readers(
    session: AsyncSession, officer_ids: Sequence[int], language: str | None
) -> tuple[int, ...]:
    """Of one link's receivers, those who read `language`, when any does and there is a choice; else all.

    Within a link only: a tip never skips a level of the chain for its language (the primary who
    reads no French still outranks a backup who does), and a link with no reader gets it whole.
    """
    ids = tuple(sorted(officer_ids))
    if language is None or language == "en" or len(ids) < 2:
        return ids
    readers = set(
        await session.scalars(
            select(OfficerLanguage.officer_id).where(
                OfficerLanguage.officer_id.in_(ids), OfficerLanguage.language == language
            )
        )
    )
    return tuple(i for i in ids if i in readers) or ids


async def _first_verified(
    session: AsyncSession, rows: Sequence[tuple[Officer, Assignment]], now: datetime
) -> list[Officer]:
    """As `_assigned` over rows already loaded: officers with a verified assignment, then verified."""
    found: dict[int, Officer] = {}
    for officer, assignment in rows:
        if officer.id not in found and await directory_auth.assignment_ok(session, assignment, now):
            found[officer.id] = officer
    return await directory_auth.verified_officers(session, list(found.values()), now)


def _can_receive(officer: Officer) -> bool:
    """`_reachable()` in Python, for rows already loaded."""
    return bool(officer.active) and officer.telegram_chat_id is not None and officer.unreachable_at is None


async def release_waiting(session: AsyncSession, policy: CasePolicy, now: datetime) -> int:
    """Hand every waiting delivery to whoever can receive it now; returns how many were released.

    Called after an officer enrolls (or becomes reachable again). A released
    tip starts its case's escalation clock from now.
    """
    rows = await session.execute(
        select(Delivery, Case)
        .join(Case, Case.id == Delivery.case_id)
        .where(Delivery.status == DeliveryStatus.WAITING)
        .order_by(Delivery.id)
    )
    released = 0
    for delivery, case in rows.all():
        if delivery.kind == DeliveryKind.TIP:
            route = await first_receivers(session, case.school_id, now)
            receivers = route.officer_ids if route else ()
            if route and case.status == CaseStatus.NEW:
                case.escalation_level = route.level
                case.next_escalation_at = now + (policy.urgent_ack if case.urgent else policy.remind_after)
        else:
            receivers = await current_receivers(session, case, now)
            if delivery.kind in outbox.ONCE_PER_OFFICER and delivery.message_id is not None:
                held = await outbox.holders(session, delivery.kind, delivery.message_id)
                if receivers and all(i in held for i in receivers):
                    await session.delete(delivery)  # everyone who receives the case has it already
                    continue
                receivers = tuple(i for i in receivers if i not in held)
        if not receivers:
            continue
        delivery.officer_id, delivery.status, delivery.next_attempt_at = (
            receivers[0],
            DeliveryStatus.PENDING,
            now,
        )
        await outbox.queue(
            session,
            delivery.kind,
            receivers[1:],
            now,
            case_id=case.id,
            message_id=delivery.message_id,
        )
        released += 1
    return released
