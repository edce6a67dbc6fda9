"""Durable intake: every Telegram update, sealed, stored before Telegram is told it arrived (issue 11)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class IntakeUpdate(Base):
    """One update from Telegram, kept until it is handled, then only its id (to skip a redelivery).

    The update (it holds a chat id and a message text) is sealed with the server 'state' key, with
    its update id as associated data. `chat_key` is a keyed hash of the chat, distinct from the
    drafts' pseudonym, so that a chat's updates are handled one after another across instances; it
    is cleared, with the sealed update, once the update is handled. `claimed_until` is a lease: a
    worker that died lets its updates go when it runs out. `received_at` is a quarter hour.
    """

    __tablename__ = "intake_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[str | None] = mapped_column(String(64), index=True)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    done: Mapped[bool] = mapped_column(Boolean, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
