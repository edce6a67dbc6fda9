"""An image into a case and back out: a case message that describes it, and its own sealed blob.

Each image gets a fresh content key, wrapped for the case's recipients and its
student exactly as a message's is (casework.vault.sealing's primitives). That
key seals a message whose body describes the image (`image`: its number,
`mime`, `width`, `height`, `ocr`, `caption`, and `digest`, the SHA-256 of the
image's ciphertext); a key derived from it seals the image itself, padded, in
`evidence_images`. The message's MAC (casework.vault.directory_auth) covers
its ciphertext, the body covers the image's digest: a database writer can
neither add an image nor swap one. Re-seals (`access.grant_access`) and key
rotations (`rewrap`) re-wrap the message's envelopes, which opens the image
too; a purge deletes it with its case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import intake
from casework.delivery import outbox, routing
from casework.errors import CaseClosed, CaseworkError, UnknownCase
from casework.evidence.strip import StrippedImage
from casework.vault import crypto, directory_auth, sealing
from storage.models import (
    Case,
    CaseMessage,
    CaseStatus,
    DeliveryKind,
    Direction,
    EvidenceImage,
    KeyEnvelope,
    RecipientKind,
)

MAX_IMAGES_PER_CASE = 10
# The sealed blob's own limit, apart from MAX_BODY_UNITS: what casework.evidence.strip may produce.
MAX_SEALED_BYTES = 10 * 1024 * 1024
PAD_TO = 16 * 1024  # the stored size says the image's size to within 16 KiB only
IMAGE_KEY = "image"  # a message whose body has it describes an image
INTIMATE_KEY = "intimate_image"  # a message whose body has it: the student said an image was intimate
_IMAGE_INFO = b"sro-connect evidence image v1"
_LENGTH_BYTES = 4


class TooManyImages(CaseworkError):
    """The case already holds MAX_IMAGES_PER_CASE images."""


class ImageTooBig(CaseworkError):
    """The re-encoded image is larger than MAX_SEALED_BYTES."""


@dataclass(frozen=True, slots=True)
class StoredImage:
    message_id: int
    index: int  # 1-based, in the order the student sent them


@dataclass(frozen=True, slots=True)
class OpenedImage:
    """One image, decrypted for a reader. Never logged; its repr hides the bytes and the text."""

    index: int  # "image k of n": k
    count: int  # n, the case's images now
    data: bytes  # the re-encoded image (no metadata)
    mime: str
    width: int
    height: int
    ocr_text: str | None  # None: Tesseract could not read it; '' : no text in it
    caption: str | None
    message_id: int
    seq: int
    created_at: datetime

    def __repr__(self) -> str:
        return f"OpenedImage({self.index} of {self.count}, {self.mime}, {self.width}x{self.height})"


def image_aad(case_id: int, seq: int) -> bytes:
    return f"sro-connect image v1|case={case_id}|seq={seq}".encode()


def is_image(body: dict[str, str]) -> bool:
    """A thread message that stands for an image (renderers show it as one, not as words)."""
    return IMAGE_KEY in body


def _pad(data: bytes) -> bytes:
    framed = len(data).to_bytes(_LENGTH_BYTES, "big") + data
    return framed + b"\0" * (-len(framed) % PAD_TO)


def _unpad(padded: bytes) -> bytes:
    length = int.from_bytes(padded[:_LENGTH_BYTES], "big")
    if length > len(padded) - _LENGTH_BYTES:
        raise crypto.DecryptionError("the decrypted image is not what we wrote")
    return padded[_LENGTH_BYTES : _LENGTH_BYTES + length]


async def image_count(session: AsyncSession, case_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(EvidenceImage).where(EvidenceImage.case_id == case_id)
    )
    return int(count or 0)


async def store_image(
    session: AsyncSession,
    case_id: int,
    image: StrippedImage,
    *,
    ocr_text: str | None,
    caption: str | None,
    now: datetime,
    notify: bool,
) -> StoredImage:
    """Seal `image` (already stripped) into an open case for its recipients and student.

    `notify`: queue it for the case's current receivers as a student's addition (a follow-up);
    False when it goes with the tip itself (the tip's sender reads `images_for_officer`).
    Raises `UnknownCase`, `CaseClosed`, `TooManyImages`, `ImageTooBig`.
    """
    case = await session.get(Case, case_id)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {case_id} is closed")
    if len(image.data) > MAX_SEALED_BYTES:
        raise ImageTooBig(f"an image is at most {MAX_SEALED_BYTES} bytes once re-encoded")
    index = await image_count(session, case_id) + 1
    if index > MAX_IMAGES_PER_CASE:
        raise TooManyImages(f"a case holds at most {MAX_IMAGES_PER_CASE} images")
    recipients = await intake.recipients_of(session, case_id)
    seq = await sealing.next_seq(session, case_id)
    content_key = crypto.random_key()
    sealed_image = crypto.seal(
        crypto.derive_key(content_key, _IMAGE_INFO), _pad(image.data), image_aad(case_id, seq)
    )
    body = {
        IMAGE_KEY: str(index),
        "mime": image.mime,
        "width": str(image.width),
        "height": str(image.height),
        "digest": hashlib.sha256(sealed_image.nonce + sealed_image.ciphertext).hexdigest(),
    }
    if ocr_text is not None:
        body["ocr"] = ocr_text
    if caption:
        body["caption"] = caption
    sealed_body = crypto.seal(
        content_key, sealing.encode_body(body), sealing.message_aad(case_id, seq, Direction.STUDENT)
    )
    message = CaseMessage(
        case_id=case_id,
        seq=seq,
        direction=Direction.STUDENT,
        author_officer_id=None,
        created_at=now,
        nonce=sealed_body.nonce,
        ciphertext=sealed_body.ciphertext,
    )
    directory_auth.sign(session, message)
    session.add(message)
    await session.flush()
    context = sealing.envelope_context
    session.add(
        sealing.envelope_row(
            message.id, RecipientKind.STUDENT, None, content_key, case.student_public_key,
            context(case_id, seq, sealing.STUDENT),
        )
    )  # fmt: skip
    session.add_all(
        sealing.envelope_row(
            message.id, RecipientKind.OFFICER, r.officer_id, content_key, r.public_key,
            context(case_id, seq, r.officer_id),
        )
        for r in recipients
    )  # fmt: skip
    session.add(
        EvidenceImage(
            case_id=case_id,
            message_id=message.id,
            nonce=sealed_image.nonce,
            ciphertext=sealed_image.ciphertext,
        )
    )
    if notify:
        await _queue_addition(session, case, message.id, now)
    return StoredImage(message.id, index)


async def _queue_addition(session: AsyncSession, case: Case, message_id: int, now: datetime) -> None:
    """As `intake.add_message` does for a student's words: to the current receivers, or waiting."""
    receivers = await routing.current_receivers(session, case, now)
    if receivers:
        await outbox.queue(
            session, DeliveryKind.STUDENT_REPLY, receivers, now, case_id=case.id, message_id=message_id
        )
    else:
        await outbox.queue_waiting(session, DeliveryKind.STUDENT_REPLY, case.id, now, message_id=message_id)


def open_image(
    message: CaseMessage,
    envelope: KeyEnvelope,
    row: EvidenceImage,
    private_keys: Sequence[X25519PrivateKey],
    recipient: int | str,
    count: int,
) -> OpenedImage:
    """Decrypt one image with a reader's envelope; `DecryptionError` if anything was altered or swapped."""
    content_key = _content_key(message, envelope, private_keys, recipient)
    raw_body = crypto.open_sealed(
        content_key,
        crypto.Sealed(message.nonce, message.ciphertext),
        sealing.message_aad(message.case_id, message.seq, message.direction),
    )
    body = sealing.decode_body(raw_body)
    digest = hashlib.sha256(bytes(row.nonce) + bytes(row.ciphertext)).hexdigest()
    if not is_image(body) or body.get("digest") != digest or row.message_id != message.id:
        raise crypto.DecryptionError("the image is not the one its message describes")
    padded = crypto.open_sealed(
        crypto.derive_key(content_key, _IMAGE_INFO),
        crypto.Sealed(bytes(row.nonce), bytes(row.ciphertext)),
        image_aad(message.case_id, message.seq),
    )
    return OpenedImage(
        index=int(body[IMAGE_KEY]),
        count=count,
        data=_unpad(padded),
        mime=body.get("mime", "image/jpeg"),
        width=int(body.get("width", "0")),
        height=int(body.get("height", "0")),
        ocr_text=body.get("ocr"),
        caption=body.get("caption"),
        message_id=message.id,
        seq=message.seq,
        created_at=message.created_at,
    )


def _content_key(
    message: CaseMessage,
    envelope: KeyEnvelope,
    private_keys: Sequence[X25519PrivateKey],
    recipient: int | str,
) -> bytes:
    """With the first key that fits: an officer's current key, then (during a rotation) the previous."""
    for private_key in private_keys[:-1]:
        try:
            return sealing.content_key_of(message, envelope, private_key, recipient)
        except crypto.DecryptionError:
            continue
    return sealing.content_key_of(message, envelope, private_keys[-1], recipient)
