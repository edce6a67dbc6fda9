"""A case's images decrypted for one reader: an officer it is shared with, or the student with the code."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import intake
from casework.cases.codes import CaseCode
from casework.errors import AccessDenied
from casework.evidence.sealing import OpenedImage, image_count, open_image
from casework.vault import crypto, directory_auth, sealing
from casework.vault.keys import KeyRing
from storage.models import Case, CaseMessage, EvidenceImage, KeyEnvelope, Officer, RecipientKind

logger = logging.getLogger(__name__)


async def _opened(
    session: AsyncSession,
    case_id: int,
    envelope_filter: object,
    keys: Sequence[X25519PrivateKey],
    recipient: int | str,
    message_id: int | None = None,
) -> list[OpenedImage]:
    query = (
        select(EvidenceImage, CaseMessage, KeyEnvelope)
        .join(CaseMessage, CaseMessage.id == EvidenceImage.message_id)
        .outerjoin(KeyEnvelope, (KeyEnvelope.message_id == CaseMessage.id) & envelope_filter)
        .where(EvidenceImage.case_id == case_id, CaseMessage.case_id == case_id)
        .order_by(CaseMessage.seq)
    )
    if message_id is not None:
        query = query.where(CaseMessage.id == message_id)
    count = await image_count(session, case_id)
    images = []
    for row, message, envelope in (await session.execute(query)).all():
        if not await directory_auth.message_ok(session, message):
            logger.warning("evidence.image_withheld")  # a writer's insertion: never shown (alerted)
            continue
        if envelope is None:
            raise crypto.DecryptionError(f"image message {message.seq} has no key for this reader")
        images.append(open_image(message, envelope, row, keys, recipient, count))
    return images


async def _officer_keys(
    session: AsyncSession, keys: KeyRing, case_id: int, officer_id: int
) -> list[X25519PrivateKey]:
    if not await intake.is_recipient(session, case_id, officer_id):
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    officer = await session.get(Officer, officer_id)
    if officer is None:
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    return keys.officer_keys(officer.id, officer.sealed_private_key, officer.previous_sealed_private_key)


async def images_for_officer(
    session: AsyncSession, keys: KeyRing, case_id: int, officer_id: int
) -> list[OpenedImage]:
    """Every image of the case, in order; `AccessDenied` unless the case is shared with this officer."""
    private = await _officer_keys(session, keys, case_id, officer_id)
    return await _opened(session, case_id, KeyEnvelope.officer_id == officer_id, private, officer_id)


async def image_for_officer(
    session: AsyncSession, keys: KeyRing, message_id: int, officer_id: int
) -> OpenedImage | None:
    """The image a message stands for (a student's addition being delivered), or None if it is text."""
    case_id = await session.scalar(select(CaseMessage.case_id).where(CaseMessage.id == message_id))
    if case_id is None:
        return None
    private = await _officer_keys(session, keys, case_id, officer_id)
    found = await _opened(
        session, case_id, KeyEnvelope.officer_id == officer_id, private, officer_id, message_id
    )
    return found[0] if found else None


async def images_for_student(session: AsyncSession, keys: KeyRing, code_text: str) -> list[OpenedImage]:
    """Every image of the case the code opens, for its student (the caller rate-limits failures)."""
    code = CaseCode.parse(code_text)
    case = await session.scalar(select(Case).where(Case.code_hash == code.lookup_hash(keys.case_code_key)))
    if case is None:
        raise code.not_found()
    key = code.student_key(case.student_key_salt)
    if crypto.public_bytes(key) != case.student_public_key:
        raise crypto.DecryptionError("the case's student key does not match its code")
    envelopes = KeyEnvelope.recipient_kind == RecipientKind.STUDENT
    return await _opened(session, case.id, envelopes, [key], sealing.STUDENT)
