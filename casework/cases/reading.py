"""Reading cases: an officer with their own key, a student with their case code, and officers' lists.

An officer reads a case only if it was sealed for them (a `case_recipients`
row and an envelope per message); anything else is `AccessDenied`, whether
or not the case exists. The student reads with the key their code derives;
the server never stores that key, nor the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import ColumnElement, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import references
from casework.cases.codes import CaseCode
from casework.cases.intake import case_label, is_recipient
from casework.errors import AccessDenied, UnknownCase
from casework.vault import crypto, directory_auth, sealing
from casework.vault.keys import KeyRing
from storage.models import (
    Case,
    CaseKind,
    CaseMessage,
    CaseRecipient,
    CaseStatus,
    Direction,
    KeyEnvelope,
    Officer,
    Outcome,
    RecipientKind,
    School,
)


class ForgedMessage(crypto.DecryptionError):
    """A stored message whose MAC fails: written by someone without the master key. Never shown."""


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    seq: int
    direction: Direction
    created_at: datetime
    body: dict[str, str]
    author_officer_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """What a list shows: no content."""

    case_id: int
    school_id: int | None
    kind: CaseKind
    intent: str
    urgent: bool
    status: CaseStatus
    created_at: datetime
    acknowledged_by: int | None
    reference: str  # what officers see and type, `MRC-12` (casework.cases.references)


@dataclass(frozen=True, slots=True)
class CaseThread:
    """A case as its officer sees it."""

    summary: CaseSummary
    outcome: Outcome | None
    messages: tuple[ThreadMessage, ...]
    withheld: int = 0  # stored messages that failed their MAC: never shown, alerted (directory_auth)


@dataclass(frozen=True, slots=True)
class StudentView:
    """A case as its student sees it: status and the conversation, no officer identities."""

    case_id: int
    kind: CaseKind
    status: CaseStatus
    created_at: datetime
    messages: tuple[ThreadMessage, ...]
    withheld: int = 0  # stored messages that failed their MAC: never shown, alerted (directory_auth)
    label: str | None = None  # "🦊 fox" (casework.cases.labels); None before labels or after /forget


def _summary(case: Case) -> CaseSummary:
    return CaseSummary(
        case.id,
        case.school_id,
        case.kind,
        case.intent,
        case.urgent,
        case.status,
        case.created_at,
        case.acknowledged_by,
        references.format_reference(case.reference_prefix, case.reference_number),
    )


async def _thread(
    session: AsyncSession,
    case_id: int,
    envelope_filter: object,
    key: Sequence[X25519PrivateKey],
    recipient: int | str,
    *,
    with_authors: bool,
) -> tuple[tuple[ThreadMessage, ...], int]:
    """The messages that verify, decrypted, and how many did not verify (left out)."""
    rows = await session.execute(
        select(CaseMessage, KeyEnvelope)
        .outerjoin(KeyEnvelope, (KeyEnvelope.message_id == CaseMessage.id) & envelope_filter)
        .where(CaseMessage.case_id == case_id)
        .order_by(CaseMessage.seq)
    )
    messages = []
    withheld = 0
    for message, envelope in rows.all():
        if not await directory_auth.message_ok(session, message):
            withheld += 1  # a writer's insertion, sealed with public keys: nobody may read it as ours
            continue
        if envelope is None:
            raise crypto.DecryptionError(
                f"message {message.seq} of case {case_id} has no key for this reader"
            )
        messages.append(
            ThreadMessage(
                message.seq,
                message.direction,
                message.created_at,
                sealing.open_message_with(message, envelope, key, recipient),
                message.author_officer_id if with_authors else None,
            )
        )
    return tuple(messages), withheld


async def read_case_as_officer(
    session: AsyncSession, keys: KeyRing, case_id: int, officer_id: int
) -> CaseThread:
    """The decrypted thread; `AccessDenied` unless the case was sealed for this active officer."""
    if not await is_recipient(session, case_id, officer_id):
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    case = await session.get(Case, case_id)
    officer = await session.get(Officer, officer_id)
    if case is None or officer is None:
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    key = keys.officer_keys(officer.id, officer.sealed_private_key, officer.previous_sealed_private_key)
    envelopes = KeyEnvelope.officer_id == officer_id
    messages, withheld = await _thread(session, case_id, envelopes, key, officer_id, with_authors=True)
    return CaseThread(_summary(case), case.outcome, messages, withheld)


async def read_message_as_officer(
    session: AsyncSession, keys: KeyRing, message_id: int, officer_id: int
) -> ThreadMessage:
    """One message, for the sender rendering a delivery; `AccessDenied` as above."""
    return await _message_as_officer(session, keys, CaseMessage.id == message_id, officer_id)


async def first_message_as_officer(
    session: AsyncSession, keys: KeyRing, case_id: int, officer_id: int
) -> ThreadMessage:
    """The case's first message (the report itself), for rendering a tip; `AccessDenied` as above.

    The first message of the case, whoever it is sealed for: an officer without an envelope for it
    is denied, not shown a later one."""
    first = (
        select(CaseMessage.id)
        .where(CaseMessage.case_id == case_id)
        .order_by(CaseMessage.seq)
        .limit(1)
        .scalar_subquery()
    )
    return await _message_as_officer(session, keys, CaseMessage.id == first, officer_id)


async def _message_as_officer(
    session: AsyncSession, keys: KeyRing, which: ColumnElement[bool], officer_id: int
) -> ThreadMessage:
    """The message `which` picks, with this officer's envelope, in one query; opened if shared."""
    row = (
        await session.execute(
            select(CaseMessage, KeyEnvelope)
            .join(KeyEnvelope, KeyEnvelope.message_id == CaseMessage.id)
            .where(which, KeyEnvelope.officer_id == officer_id)
        )
    ).first()
    if row is None or not await is_recipient(session, row[0].case_id, officer_id):
        raise AccessDenied("this message is not shared with this officer")
    message, envelope = row
    if not await directory_auth.message_ok(session, message):
        raise ForgedMessage(f"message {message.seq} of case {message.case_id} failed its authentication")
    officer = await session.get(Officer, officer_id)
    assert officer is not None  # is_recipient checked it exists
    key = keys.officer_keys(officer.id, officer.sealed_private_key, officer.previous_sealed_private_key)
    return ThreadMessage(
        message.seq,
        message.direction,
        message.created_at,
        sealing.open_message_with(message, envelope, key, officer_id),
        message.author_officer_id,
    )


async def case_summary(session: AsyncSession, case_id: int) -> CaseSummary:
    """A case's metadata, no content (for rendering deliveries). `UnknownCase` if it is gone."""
    case = await session.get(Case, case_id)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    return _summary(case)


async def school_name(session: AsyncSession, school_id: int | None) -> str | None:
    if school_id is None:
        return None
    school = await session.get(School, school_id)
    return school.name if school else None


async def read_case_as_student(session: AsyncSession, keys: KeyRing, code_text: str) -> StudentView:
    """Status and thread for whoever holds the code.

    Raises `MalformedCode`, `BadCheckCharacter`, `UnknownCaseCode`; the
    caller rate-limits failures.
    """
    code = CaseCode.parse(code_text)
    case = await session.scalar(select(Case).where(Case.code_hash == code.lookup_hash(keys.case_code_key)))
    if case is None:
        raise code.not_found()  # UnknownCaseCode, or BadCheckCharacter for a likely typo
    key = code.student_key(case.student_key_salt)
    if crypto.public_bytes(key) != case.student_public_key:
        raise crypto.DecryptionError("the case's student key does not match its code")
    envelopes = KeyEnvelope.recipient_kind == RecipientKind.STUDENT
    messages, withheld = await _thread(
        session, case.id, envelopes, [key], sealing.STUDENT, with_authors=False
    )
    label = await case_label(session, keys, case.id)
    return StudentView(case.id, case.kind, case.status, case.created_at, messages, withheld, label)


async def list_officer_cases(
    session: AsyncSession, officer_id: int, *, open_only: bool = True, limit: int = 50
) -> Sequence[CaseSummary]:
    """The cases sealed for this officer: urgent first, then oldest first. No content.

    Only shares that verify (`directory_auth`): a row a writer added lists nothing.
    """
    query = (
        select(Case, CaseRecipient)
        .join(CaseRecipient, CaseRecipient.case_id == Case.id)
        .join(Officer, Officer.id == CaseRecipient.officer_id)
        .where(CaseRecipient.officer_id == officer_id, Officer.active)
        .order_by(sql_case((Case.urgent, 0), else_=1), Case.created_at, Case.id)
        .limit(limit)
    )
    if open_only:
        query = query.where(Case.status != CaseStatus.CLOSED)
    now = datetime.now(UTC)
    return [
        _summary(case)
        for case, share in (await session.execute(query)).all()
        if await directory_auth.recipient_ok(session, share, now)
    ]
