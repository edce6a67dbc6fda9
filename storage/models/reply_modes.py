"""Officers' reply modes: what an officer's next text in their chat is for, sealed (it names a case)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class OfficerReplyMode(Base):
    """One officer's mode (a reply, a last message, a held message), sealed with the server 'state' key.

    The mode names a case and may hold the officer's words to a student, so all of it is sealed, with
    the officer's id as associated data; its plain times are quarter hours (casework.coarse), like a
    draft's. Students' drafts are a different table: an officer's chat is staff, not a student.
    """

    __tablename__ = "officer_reply_modes"

    officer_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
