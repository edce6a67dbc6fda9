"""A case's images decrypted for one reader: an officer it is shared with, or the student with the code."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import intake
from casework.cases.codes import CaseCode
from casework.delivery import alerts
from casework.errors import AccessDenied
from casework.evidence.sealing import OpenedImage, image_count, open_image
from casework.vault import crypto, directory_auth, sealing
from casework.vault.keys import KeyRing
from storage.models import AlertKind, Case, CaseMessage, EvidenceImage, KeyEnvelope, Officer, RecipientKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaseImages:
    """A case's images for one reader: those that open, and how many did not (altered: alerted)."""

    images: list[OpenedImage]
    unopened: int = 0


async def _opened(
    session: AsyncSession,
    case_id: int,
    envelope_filter: object,
    keys: Sequence[X25519PrivateKey],
    recipient: int | str,
    message_id: int | None = None,
    *,
    lenient: bool = False,
) -> CaseImages:
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
    unopened = 0
    for row, message, envelope in (await session.execute(query)).all():
        if not await directory_auth.message_ok(session, message):
            logger.warning("evidence.image_withheld")  # a writer's insertion: never shown (alerted)
            continue
        try:
            if envelope is None:
                raise crypto.DecryptionError(f"image message {message.seq} has no key for this reader")
            images.append(open_image(message, envelope, row, keys, recipient, count))
        except crypto.DecryptionError:
            if not lenient:
                raise
            unopened += 1  # altered in the database: the others are still shown
    if unopened:
        logger.error("evidence.image_unopened count=%d", unopened)
        await tampered(session, case_id)
    return CaseImages(images, unopened)


async def tampered(session: AsyncSession, case_id: int, now: datetime | None = None) -> None:
    """An image of the case did not decrypt: the supervisors are alerted (kind and case only), once,
    as for a stored message that fails its authentication (casework.vault.directory_auth)."""
    kind = AlertKind.TAMPERED_MESSAGE
    if not await alerts.list_alerts(session, kind=kind, case_id=case_id, limit=1):
        await alerts.raise_alert(session, kind, now or datetime.now(UTC), case_id=case_id)


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
    """Every image of the case, in order; `AccessDenied` unless the case is shared with this officer,
    `DecryptionError` if one was altered (`case_images_for_officer` shows the others)."""
    private = await _officer_keys(session, keys, case_id, officer_id)
    found = await _opened(session, case_id, KeyEnvelope.officer_id == officer_id, private, officer_id)
    return found.images


async def case_images_for_officer(
    session: AsyncSession, keys: KeyRing, case_id: int, officer_id: int
) -> CaseImages:
    """As `images_for_officer`, but an image that does not decrypt is counted, not raised, and the
    supervisors are alerted: one altered image never hides the rest of the case (`/case N`)."""
    private = await _officer_keys(session, keys, case_id, officer_id)
    envelopes = KeyEnvelope.officer_id == officer_id
    return await _opened(session, case_id, envelopes, private, officer_id, lenient=True)


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
    return found.images[0] if found.images else None


async def images_for_student(session: AsyncSession, keys: KeyRing, code_text: str) -> list[OpenedImage]:
    """Every image of the case the code opens, for its student (the caller rate-limits failures);
    `DecryptionError` if one was altered (`case_images_for_student` shows the others)."""
    return (await case_images_for_student(session, keys, code_text, lenient=False)).images


async def case_images_for_student(
    session: AsyncSession, keys: KeyRing, code_text: str, *, lenient: bool = True
) -> CaseImages:
    """As `images_for_student`; an image that does not decrypt is counted and alerted, the others shown."""
    code = CaseCode.parse(code_text)
    case = await session.scalar(select(Case).where(Case.code_hash == code.lookup_hash(keys.case_code_key)))
    if case is None:
        raise code.not_found()
    key = code.student_key(case.student_key_salt)
    if crypto.public_bytes(key) != case.student_public_key:
        raise crypto.DecryptionError("the case's student key does not match its code")
    envelopes = KeyEnvelope.recipient_kind == RecipientKind.STUDENT
    return await _opened(session, case.id, envelopes, [key], sealing.STUDENT, lenient=lenient)
