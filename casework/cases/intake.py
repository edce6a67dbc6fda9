"""Writing cases: open one (the student's first message), add messages, the opt-in notification address."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from casework.cases import labels, references
from casework.cases.codes import CaseCode, new_salt
from casework.delivery import outbox, routing
from casework.errors import (
    AccessDenied,
    CaseClosed,
    InactiveSchool,
    InvalidTransition,
    NoRecipients,
    UnknownCase,
    UnknownSchool,
)
from casework.policy import CasePolicy
from casework.stats.responses import record_response
from casework.vault import access, crypto, directory_auth, sealing
from casework.vault.keys import KeyRing
from storage.models import (
    AuditEvent,
    Case,
    CaseKind,
    CaseMessage,
    CaseRecipient,
    CaseStatus,
    Delivery,
    DeliveryKind,
    DeliveryPriority,
    DeliveryStatus,
    Direction,
    Grant,
    Officer,
    ResponseMeasure,
    School,
)

_INTENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class OpenedCase:
    case_id: int
    code: str  # shown to the student once, grouped (`K7QF-2MZX-9PHA-R3TD-4`); never stored
    delivered: bool  # False: no officer can receive it yet, it waits for the first who enrolls
    label: str = ""  # "🦊 fox": shown with the code, named by the discreet notice (case_labels)

    def __repr__(self) -> str:
        return f"OpenedCase(case_id={self.case_id}, code=<hidden>, delivered={self.delivered})"


@dataclass(frozen=True, slots=True)
class NewCase:
    """One case to open (`open_case`'s arguments, for `open_cases`)."""

    school_id: int | None
    kind: CaseKind
    intent: str
    urgent: bool
    body: Mapping[str, str]
    now: datetime
    notify_chat_id: int | None = None
    hold: timedelta | None = None
    code: CaseCode | None = None
    send_key: str | None = None


async def open_case(
    session: AsyncSession,
    keys: KeyRing,
    policy: CasePolicy,
    *,
    school_id: int | None,
    kind: CaseKind,
    intent: str,
    urgent: bool,
    body: Mapping[str, str],
    notify_chat_id: int | None,
    now: datetime,
    hold: timedelta | None = None,
    code: CaseCode | None = None,
    send_key: str | None = None,
) -> OpenedCase:
    """Store a new case with its first message, sealed for its recipients; queue the tip.

    `code`: the case code chosen in advance (else a new one). `send_key`: the draft's send token;
    its keyed hash is unique, so a second Send of the same draft cannot open a second case
    (IntegrityError; `case_for_send_key` finds the first).

    `hold` delays the tip: an urgent report sent before the student named a
    school waits that long for `assign_school` to send it to the school's
    officers instead; if it is not called in time, the supervisors get it.

    `school_id` None is allowed (an urgent report before a school was
    chosen): supervisors get it. Raises `NoRecipients` when nobody at all
    could ever read the case, so the bot never says "sent" in vain.
    """
    new = NewCase(
        school_id, kind, intent, urgent, body, now, notify_chat_id, hold=hold, code=code, send_key=send_key
    )
    (opened,) = await open_cases(session, keys, policy, [new])
    return opened


async def open_cases(
    session: AsyncSession, keys: KeyRing, policy: CasePolicy, cases: Sequence[NewCase]
) -> list[OpenedCase]:
    """`open_case` for several cases in one transaction, in one statement per table for all of them.

    The same rows, numbers and checks as one `open_case` after another, in order. Any error (an
    unknown school, nobody to read one case, a send key already used) raises for all of them: the
    caller's transaction then stores none (`casework.cases.intake_batch` retries each alone).
    """
    if not cases:
        return []
    prefixes = await _prefixes(session, cases)
    plans = await _plans(session, cases)
    plaintexts = [sealing.encode_body(c.body) for c in cases]  # BodyTooLong before any number is taken
    numbers = await references.take_numbers(session, prefixes)
    codes = [c.code or CaseCode.new() for c in cases]
    rows = [
        _case_row(keys, policy, c, code, route, prefix, number)
        for c, code, (_, route), prefix, number in zip(cases, codes, plans, prefixes, numbers, strict=True)
    ]
    # Core statements, not the unit of work: nothing in the transaction needs these rows as objects.
    case_ids = await sealing.insert_returning_ids(session, Case, rows, "code_hash")
    # Sealed after the INSERT: their associated data names the case id.
    opened_labels = [labels.new_label() for _ in cases]
    await session.execute(
        update(sealing.core_table(Case))
        .where(sealing.core_table(Case).c.id == bindparam("case_id"))
        .values(label_sealed=bindparam("label"), notify_address_sealed=bindparam("address")),
        [
            {
                "case_id": case_id,
                "label": seal_label(keys, case_id, label),
                "address": None
                if c.notify_chat_id is None
                else _seal_address(keys, case_id, c.notify_chat_id),
            }
            for c, case_id, label in zip(cases, case_ids, opened_labels, strict=True)
        ],
    )
    grants = []
    for case_id, c, (recipients, _) in zip(case_ids, cases, plans, strict=True):
        for r in recipients:
            grant = CaseRecipient(
                case_id=case_id, officer_id=r.officer_id, granted_at=c.now, granted_by=Grant.CREATION
            )
            directory_auth.sign(session, grant)
            grants.append({column: getattr(grant, column) for column in _GRANT_COLUMNS})
    await session.execute(insert(sealing.core_table(CaseRecipient)), grants)
    message_ids = await sealing.store_first_messages(
        session,
        [
            sealing.FirstMessage(
                case_id, cast(bytes, row["student_public_key"]), plaintext, recipients, c.now
            )
            for case_id, row, plaintext, (recipients, _), c in zip(
                case_ids, rows, plaintexts, plans, cases, strict=True
            )
        ],
    )
    deliveries = [
        row
        for c, case_id, message_id, (_, route) in zip(cases, case_ids, message_ids, plans, strict=True)
        for row in _tip_rows(c, case_id, message_id, route)
    ]
    await session.execute(insert(sealing.core_table(Delivery)), deliveries)
    # No kind, intent or urgency: audit rows never say what a case is about.
    await session.execute(
        insert(sealing.core_table(AuditEvent)),
        [
            {"at": c.now, "actor": "student", "action": "case.opened", "case_id": case_id, "detail": None}
            for c, case_id in zip(cases, case_ids, strict=True)
        ],
    )
    return [
        OpenedCase(case_id, code.display(), delivered=route is not None, label=label)
        for case_id, code, (_, route), label in zip(case_ids, codes, plans, opened_labels, strict=True)
    ]


_GRANT_COLUMNS = ("case_id", "officer_id", "granted_at", "granted_by", "mac")
_Plan = tuple[list[routing.SealingRecipient], routing.Route | None]


async def _prefixes(session: AsyncSession, cases: Sequence[NewCase]) -> list[str]:
    """Each case's reference prefix (its school's code); raises for an unknown or removed school."""
    school_ids = {c.school_id for c in cases if c.school_id is not None}
    found: dict[int, School] = {}
    if len(school_ids) == 1:
        (only,) = school_ids
        school = await session.get(School, only)
        found = {only: school} if school is not None else {}
    elif school_ids:
        found = {s.id: s for s in await session.scalars(select(School).where(School.id.in_(school_ids)))}
    prefixes = []
    for c in cases:
        prefix = references.NO_SCHOOL_PREFIX
        if c.school_id is not None:
            school = found.get(c.school_id)
            if school is None:
                raise UnknownSchool(f"no school with id {c.school_id}")
            if not school.active:
                raise InactiveSchool(f"school {school.code} was removed and takes no new reports")
            prefix = school.code
        if not _INTENT.match(c.intent):
            raise ValueError("an intent is a lowercase name such as 'report_weapon'")
        prefixes.append(prefix)
    return prefixes


async def _plans(session: AsyncSession, cases: Sequence[NewCase]) -> list[_Plan]:
    """Whom each case is sealed for and who receives it first: one read of the directory per school and
    language (a French report prefers officers who read French, routing.LANGUAGE_KEY)."""
    plans: dict[tuple[int | None, str | None], _Plan] = {}
    for c in cases:
        key = (c.school_id, c.body.get(routing.LANGUAGE_KEY))
        if key not in plans:
            plans[key] = await routing.new_case_plan(session, c.school_id, c.now, language=key[1])
        if not plans[key][0]:
            raise NoRecipients("no officer or supervisor exists yet who could read this case")
    return [plans[(c.school_id, c.body.get(routing.LANGUAGE_KEY))] for c in cases]


def _case_row(
    keys: KeyRing,
    policy: CasePolicy,
    c: NewCase,
    code: CaseCode,
    route: routing.Route | None,
    prefix: str,
    number: int,
) -> dict[str, object]:
    salt = new_salt()
    if route is None:
        level, next_escalation_at = 0, None  # the clock starts when someone can receive it
    else:
        wait = (policy.urgent_ack if c.urgent else policy.remind_after) + (c.hold or timedelta())
        level, next_escalation_at = route.level, c.now + wait
    return {
        "school_id": c.school_id,
        "kind": c.kind,
        "intent": c.intent,
        "urgent": c.urgent,
        "status": CaseStatus.NEW,
        "created_at": c.now,
        "code_hash": code.lookup_hash(keys.case_code_key),
        "student_key_salt": salt,
        "student_public_key": crypto.public_bytes(code.student_key(salt)),
        "escalation_level": level,
        "next_escalation_at": next_escalation_at,
        "message_count": 1,  # its first message, stored with seq=1
        "send_key_hash": send_key_hash(keys, c.send_key) if c.send_key is not None else None,
        "reference_prefix": prefix,
        "reference_number": number,
    }


def _tip_rows(
    c: NewCase, case_id: int, message_id: int, route: routing.Route | None
) -> list[dict[str, object]]:
    """The tip's deliveries, as `outbox.queue` (or `queue_waiting` when nobody can receive it yet)."""
    priority = DeliveryPriority.URGENT if c.urgent else DeliveryPriority.NORMAL
    if route is None:
        return [
            outbox.delivery_row(
                DeliveryKind.TIP, None, c.now, case_id=case_id, message_id=message_id,
                due=c.now, priority=priority, status=DeliveryStatus.WAITING,
            )
        ]  # fmt: skip
    due = c.now + c.hold if c.hold else c.now
    return [
        outbox.delivery_row(
            DeliveryKind.TIP, officer_id, c.now,
            case_id=case_id, message_id=message_id, due=due, priority=priority,
        )
        for officer_id in route.officer_ids
    ]  # fmt: skip


async def add_message(
    session: AsyncSession,
    keys: KeyRing,
    policy: CasePolicy,
    case_id: int,
    *,
    direction: Direction,
    body: Mapping[str, str],
    now: datetime,
    author_officer_id: int | None = None,
) -> int:
    """Add a message to an open case; returns its id.

    A student's message goes to the case's current receivers. An officer's
    reply (the author must be a recipient) counts as the first reply, and
    acknowledges the case if nobody had; an opted-in student gets a discreet
    notice.
    """
    case = await session.get(Case, case_id)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {case_id} is closed")
    if direction == Direction.OFFICER and (
        author_officer_id is None or not await is_recipient(session, case_id, author_officer_id)
    ):
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    recipients = await recipients_of(session, case_id)
    message = await sealing.store_message(
        session,
        case,
        direction=direction,
        body=body,
        recipients=recipients,
        now=now,
        author_officer_id=author_officer_id,
    )
    if direction == Direction.STUDENT:
        receivers = await routing.current_receivers(session, case, now)
        if receivers:
            await outbox.queue(
                session, DeliveryKind.STUDENT_REPLY, receivers, now, case_id=case.id, message_id=message.id
            )
        else:
            await outbox.queue_waiting(
                session, DeliveryKind.STUDENT_REPLY, case.id, now, message_id=message.id
            )
    elif direction == Direction.OFFICER and author_officer_id is not None:
        await _officer_replied(session, policy, case, author_officer_id, now)
    await audit.record_event(
        session,
        actor=audit.officer_actor(author_officer_id) if author_officer_id else direction.value,
        action="case.message",
        case_id=case.id,
        detail=f"{direction.value} message {message.seq}",
        now=now,
    )
    return message.id


async def _officer_replied(
    session: AsyncSession, policy: CasePolicy, case: Case, officer_id: int, now: datetime
) -> None:
    if case.status == CaseStatus.NEW:
        case.status = CaseStatus.ACKNOWLEDGED
        case.acknowledged_at, case.acknowledged_by = now, officer_id
        case.next_escalation_at = None
        await record_response(session, policy, case, ResponseMeasure.ACKNOWLEDGEMENT, now)
    if case.first_reply_at is None:
        case.first_reply_at = now
        await record_response(session, policy, case, ResponseMeasure.FIRST_REPLY, now)
    if case.notify_address_sealed is not None:
        await outbox.queue(session, DeliveryKind.NOTIFY_STUDENT, [None], now, case_id=case.id)


async def assign_school(
    session: AsyncSession, keys: KeyRing, policy: CasePolicy, case_id: int, school_id: int, now: datetime
) -> None:
    """The student names the school of a case sent without one (an urgent report).

    Until now only supervisors had it; the school's officers are added by a
    re-seal (a supervisor's key unwraps each message key, see `access`),
    audit-logged as the student's doing, and receive the tip at once.
    """
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    if case.school_id is not None:
        raise InvalidTransition(f"case {case_id} already has a school")
    school = await session.get(School, school_id)
    if school is None:
        raise UnknownSchool(f"no school with id {school_id}")
    case.school_id = school_id
    # Renumbered under its school: a program-wide number would tell the school how many
    # school-less reports the whole program had (see `references`).
    number = await references.next_number(session, school.code)  # before the change (autoflush)
    case.reference_prefix, case.reference_number = school.code, number
    await audit.record_event(session, actor="student", action="case.school_set", case_id=case_id, now=now)
    sealed_for = {r.officer_id for r in await recipients_of(session, case_id)}
    for recipient in await routing.sealing_recipients(session, school_id, now):
        if recipient.officer_id not in sealed_for:
            await access.grant_access(session, keys, case_id, recipient.officer_id, actor="student", now=now)
    route = await routing.first_receivers(session, school_id, now)
    if route is not None and route.level < routing.SUPERVISORS:
        # The supervisors' tip, if still held back for the school's answer, is no longer needed, and
        # a tip that waited for anyone at all to receive it is this one: else it would come twice.
        await outbox.cancel_held(session, case_id, DeliveryKind.TIP, now)
        await outbox.cancel_waiting(session, case_id, DeliveryKind.TIP)
        first_message = await session.scalar(
            select(CaseMessage.id).where(CaseMessage.case_id == case_id).order_by(CaseMessage.seq).limit(1)
        )
        await outbox.queue(
            session, DeliveryKind.TIP, route.officer_ids, now, case_id=case_id, message_id=first_message
        )
        if case.status == CaseStatus.NEW:
            case.escalation_level = route.level
            case.next_escalation_at = now + (policy.urgent_ack if case.urgent else policy.remind_after)


async def open_case_for_officer(session: AsyncSession, case_id: int, officer_id: int) -> Case:
    """The case, locked for update, if it is open and shared with this officer; raises otherwise."""
    if not await is_recipient(session, case_id, officer_id):
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {case_id} is closed")
    return case


async def is_recipient(session: AsyncSession, case_id: int, officer_id: int) -> bool:
    """The case is shared with this active officer, and both the officer and the share verify."""
    row = (
        await session.execute(
            select(CaseRecipient, Officer)
            .join(Officer, Officer.id == CaseRecipient.officer_id)
            .where(CaseRecipient.case_id == case_id, CaseRecipient.officer_id == officer_id, Officer.active)
        )
    ).first()
    if row is None:
        return False
    recipient, officer = row
    now = datetime.now(UTC)
    return await directory_auth.recipient_ok(session, recipient, now) and await directory_auth.officer_ok(
        session, officer, now
    )


async def recipients_of(session: AsyncSession, case_id: int) -> list[routing.SealingRecipient]:
    """Whom a new message of the case is sealed for: verified shares of verified officers only."""
    rows = await session.execute(
        select(CaseRecipient, Officer)
        .join(Officer, Officer.id == CaseRecipient.officer_id)
        .where(CaseRecipient.case_id == case_id)
        .order_by(Officer.id)
    )
    now = datetime.now(UTC)
    return [
        routing.SealingRecipient(officer.id, bytes(officer.public_key))
        for recipient, officer in rows.all()
        if await directory_auth.recipient_ok(session, recipient, now)
        and await directory_auth.officer_ok(session, officer, now)
    ]


async def resolve_case_code(session: AsyncSession, keys: KeyRing, code_text: str) -> Case:
    """The case a typed code opens. Raises MalformedCode, BadCheckCharacter or UnknownCaseCode.

    Callers rate-limit failed lookups (`rate_limits.hit`) before calling.
    """
    code = CaseCode.parse(code_text)
    case = await session.scalar(select(Case).where(Case.code_hash == code.lookup_hash(keys.case_code_key)))
    if case is None:
        raise code.not_found()  # UnknownCaseCode, or BadCheckCharacter for a likely typo
    return case


async def set_notify_address(session: AsyncSession, keys: KeyRing, case_id: int, chat_id: int | None) -> None:
    """Opt in (a chat id) or out (None) of discreet reply notifications for a case."""
    case = await session.get(Case, case_id)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    if case.status == CaseStatus.CLOSED and chat_id is not None:
        raise CaseClosed(f"case {case_id} is closed")
    case.notify_address_sealed = None if chat_id is None else _seal_address(keys, case_id, chat_id)


async def notify_address(session: AsyncSession, keys: KeyRing, case_id: int) -> int | None:
    """The opted-in student's chat id, for the sender only, or None."""
    case = await session.get(Case, case_id)
    if case is None or case.notify_address_sealed is None:
        return None
    raw = crypto.open_blob(keys.address_key, case.notify_address_sealed, address_aad(case_id))
    return int.from_bytes(raw, "big", signed=True)


def _seal_address(keys: KeyRing, case_id: int, chat_id: int) -> bytes:
    return crypto.seal_blob(keys.address_key, chat_id.to_bytes(8, "big", signed=True), address_aad(case_id))


def address_aad(case_id: int) -> bytes:
    return f"sro-connect notify-address v1|case={case_id}".encode()


# --- case labels ("🦊 fox"): sealed beside the address, with the same key (rotation re-seals both) ---


def seal_label(keys: KeyRing, case_id: int, label: str) -> bytes:
    return crypto.seal_blob(keys.address_key, label.encode("utf-8"), label_aad(case_id))


def label_aad(case_id: int) -> bytes:
    return f"sro-connect case-label v1|case={case_id}".encode()


async def case_label(session: AsyncSession, keys: KeyRing, case_id: int) -> str | None:
    """The case's label, or None (a case from before labels, or its student used /forget)."""
    case = await session.get(Case, case_id)
    if case is None or case.label_sealed is None:
        return None
    return crypto.open_blob(keys.address_key, case.label_sealed, label_aad(case_id)).decode("utf-8")


async def forget_label(session: AsyncSession, case_id: int) -> None:
    case = await session.get(Case, case_id)
    if case is not None:
        case.label_sealed = None


_SEND_KEY_DOMAIN = b"sro-connect send key:"


def send_key_hash(keys: KeyRing, send_key: str) -> bytes:
    """The stored form of a draft's send token: keyed, like case codes, under the same stable key."""
    return crypto.keyed_hash(keys.case_code_key, _SEND_KEY_DOMAIN, send_key.encode("utf-8"))


async def case_for_send_key(session: AsyncSession, keys: KeyRing, send_key: str) -> int | None:
    """The case a draft with this send token already opened, if any."""
    return await session.scalar(select(Case.id).where(Case.send_key_hash == send_key_hash(keys, send_key)))
