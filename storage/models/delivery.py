"""What the bot keeps between updates: the outbox, conversation drafts and rate limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, one_of
from storage.types import UTCDateTime


class DeliveryKind(StrEnum):
    TIP = "tip"  # a new case, to the first officers of its routing chain
    ESCALATION = "escalation"  # an unacknowledged case, to the next link of the chain
    REMINDER = "reminder"  # an unacknowledged case, again to the officers who have it
    ACK_NOTICE = "ack_notice"  # "taken by another officer", to the others who got the tip
    STUDENT_REPLY = "student_reply"  # a student's later message, to the case's officers
    NOTIFY_STUDENT = "notify_student"  # the discreet "you have a new message", to an opted-in student


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WAITING = "waiting"  # no officer can receive it yet; handed to the first who enrolls


class Delivery(Base):
    """One message the bot owes someone. Never holds text: the sender decrypts at send time."""

    __tablename__ = "outbox"
    __table_args__ = (
        one_of("kind", DeliveryKind),
        one_of("status", DeliveryStatus),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("case_messages.id", ondelete="CASCADE"))
    # NULL: to the case's student (notify_student), or waiting for any officer (status 'waiting').
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # An error TYPE ('RetryAfter', 'TimedOut'), never an error text that could quote content.
    last_error: Mapped[str | None] = mapped_column(String(64))


class Draft(Base):
    """A conversation in progress, encrypted with the server 'state' key, keyed by pseudonym."""

    __tablename__ = "drafts"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RateLimit(Base):
    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # How many times in a row the limit was broken: each block lasts twice the last.
    strikes: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
