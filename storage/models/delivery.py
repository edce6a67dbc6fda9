"""What the bot keeps between updates: the outbox and its parts, alerts, drafts and rate limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, one_of
from storage.types import UTCDateTime, enum_values


class DeliveryKind(StrEnum):
    TIP = "tip"  # a new case, to the first officers of its routing chain
    ESCALATION = "escalation"  # an unacknowledged case, to the next link of the chain
    REMINDER = "reminder"  # an unacknowledged case, again to the officers who have it
    ACK_NOTICE = "ack_notice"  # "taken by another officer", to the others who got the tip
    STUDENT_REPLY = "student_reply"  # a student's later message, to the case's officers
    NOTIFY_STUDENT = "notify_student"  # the discreet "you have a new message", to an opted-in student
    ALERT = "alert"  # "a delivery failed" (case number and kind only), to the supervisors
    # "your case was passed on because nobody acknowledged it", to the officers it was escalated past
    ESCALATION_NOTICE = "escalation_notice"


class DeliveryPriority:
    """Claim order: higher first, so an urgent tip never waits behind the parts of a long one."""

    NORMAL = 0
    URGENT = 1  # a delivery of an urgent case, or an alert


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WAITING = "waiting"  # no officer can receive it yet; handed to the first who enrolls


class AlertKind(StrEnum):
    RENDERING_FAILED = "rendering_failed"  # Telegram refused a message, also in its plain-text form
    TAMPERED_MESSAGE = "tampered_message"  # a stored message did not decrypt (DecryptionError)
    DIRECTORY_FORGED = "directory_forged"  # an officer record failed its authentication
    NOBODY_REACHABLE = "nobody_reachable"  # a case's tip reached nobody in the end
    ALERT_FAILED = "alert_failed"  # an alert itself could not be delivered to a supervisor
    READER_ADDED = "reader_added"  # the operator gave an officer access to a school's past cases


class Alert(Base):
    """Something a supervisor must look at. Holds no content and nothing about the student."""

    __tablename__ = "alerts"
    __table_args__ = (one_of("kind", AlertKind),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(enum_values(AlertKind, 32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Delivery(Base):
    """One message the bot owes someone. Never holds text: the sender decrypts at send time."""

    __tablename__ = "outbox"
    __table_args__ = (
        one_of("kind", DeliveryKind),
        one_of("status", DeliveryStatus),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_claim", "status", "priority", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[DeliveryKind] = mapped_column(enum_values(DeliveryKind, 24))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("case_messages.id", ondelete="CASCADE"))
    # NULL: to the case's student (notify_student), or waiting for any officer (status 'waiting').
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(enum_values(DeliveryStatus, 16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # An error TYPE ('RetryAfter', 'TimedOut'), never an error text that could quote content.
    last_error: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=DeliveryPriority.NORMAL)
    # For kind 'alert': which alert (its kind is all the message says).
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)


class DeliveryPart(Base):
    """One Telegram message of a delivery split over several: a reply to any part maps to the case."""

    __tablename__ = "delivery_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    telegram_message_id: Mapped[int] = mapped_column(BigInteger, index=True)


# Pseudonymous rows are stored in key order, not in the order they were written, so that row order
# cannot link them to cases either: SQLite keeps such a table in its primary key's b-tree (WITHOUT
# ROWID); PostgreSQL's heap is rewritten in key order by the purge job (casework.cases.drafts.reorder).
KEY_ORDERED: dict[str, object] = {"sqlite_with_rowid": False}


class Draft(Base):
    """A conversation in progress, encrypted with the server 'state' key, keyed by pseudonym.

    Its plain times are quarter hours (casework.coarse); the exact expiry is sealed.
    """

    __tablename__ = "drafts"
    __table_args__ = KEY_ORDERED

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RateLimit(Base):
    """One (pseudonym, bucket) counter. Its exact times are sealed with the server 'state' key.

    Only `expires_at`, rounded up to a quarter hour, is in the clear (for the
    purge), so a database reader cannot link the row to a case by time.
    """

    __tablename__ = "rate_limits"
    __table_args__ = KEY_ORDERED

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The window's start, count, strikes and block, sealed (casework.rate_limits).
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
