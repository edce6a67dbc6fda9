"""Evidence images: each one sealed apart from the text, beside the case message that carries its key."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class EvidenceImage(Base):
    """One image, re-encoded without metadata and encrypted (casework.evidence.sealing).

    Its content key is the one of `message_id`'s message (whose sealed body holds the image's
    description, OCR text and a digest of this ciphertext), so the message's envelopes, MAC,
    re-seals and key rotations cover the image too. Nothing here is in the clear but sizes.
    """

    __tablename__ = "evidence_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id", ondelete="CASCADE"), unique=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    # Padded to a multiple of casework.evidence.sealing.PAD_TO before encryption.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
