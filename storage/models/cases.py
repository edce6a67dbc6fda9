"""Cases, who they are sealed for, and their encrypted messages with one key envelope per recipient."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, one_of
from storage.types import UTCDateTime, enum_values


class CaseKind(StrEnum):
    REPORT = "report"
    QUESTION = "question"


class CaseStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    REFERRED = "referred"
    UNFOUNDED = "unfounded"
    DUPLICATE = "duplicate"
    OTHER = "other"


class Direction(StrEnum):
    STUDENT = "student"
    OFFICER = "officer"
    SYSTEM = "system"


class RecipientKind(StrEnum):
    STUDENT = "student"
    OFFICER = "officer"


class Grant(StrEnum):
    CREATION = "creation"
    RESEAL = "re-seal by admin"


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        one_of("kind", CaseKind),
        one_of("status", CaseStatus),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ({})".format(", ".join(f"'{o.value}'" for o in Outcome)),
            name="outcome",
        ),
        # A case reference (`MRC-12`) names one case: unique per prefix, hence per school.
        UniqueConstraint("reference_prefix", "reference_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL: an urgent report sent before the student chose a school (it goes to supervisors).
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[CaseKind] = mapped_column(enum_values(CaseKind, 16))
    intent: Mapped[str] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[CaseStatus] = mapped_column(enum_values(CaseStatus, 16), index=True)
    outcome: Mapped[Outcome | None] = mapped_column(enum_values(Outcome, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Only a keyed hash of the case code; the code itself is never stored.
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # Salt of the student's key derivation, and the public half of that key.
    student_key_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    student_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The student's chat, sealed with a server key, only if they opted in; deleted at close.
    notify_address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    # The case's label ("🦊 fox", casework.cases.labels), sealed with the same server key: the notice
    # names it instead of a code. NULL for cases opened before labels, and after /forget.
    label_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Incremented atomically to number messages; also serialises writers of one case.
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    # What officers see and type (`MRC-12`): the school's code and the school's own sequence, so a
    # reference reveals no program-wide volume; `casework.cases.references` assigns and reads it.
    reference_prefix: Mapped[str] = mapped_column(String(16))
    reference_number: Mapped[int] = mapped_column(Integer)
    # A keyed hash of the draft's random send token: pressing Send twice opens one case.
    send_key_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    # Every delivery of the case's tip failed in the end: the student's /status says so.
    nobody_reached: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseReferenceCounter(Base):
    """The last case number given under a reference prefix; kept across purges so no number is reused."""

    __tablename__ = "case_reference_counters"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class CaseRecipient(Base):
    """An officer the case is sealed for; removing the row (and envelopes) revokes access."""

    __tablename__ = "case_recipients"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    officer_id: Mapped[int] = mapped_column(
        ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[Grant] = mapped_column(enum_values(Grant, 32))
    # Key version and HMAC over the row (casework.vault.directory_auth): a writer cannot add a reader.
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(34))


class CaseMessage(Base):
    __tablename__ = "case_messages"
    __table_args__ = (UniqueConstraint("case_id", "seq"), one_of("direction", Direction))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[Direction] = mapped_column(enum_values(Direction, 16))
    author_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # Key version and HMAC over case, seq, direction, author, time and a digest of the ciphertext
    # (casework.vault.directory_auth): a writer with only public keys cannot put words in an officer's mouth.
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(34))


class KeyEnvelope(Base):
    """A message's content key wrapped for one recipient (an officer, or the student's code key)."""

    __tablename__ = "key_envelopes"
    __table_args__ = (
        one_of("recipient_kind", RecipientKind),
        CheckConstraint(
            "(recipient_kind = 'student' AND officer_id IS NULL)"
            " OR (recipient_kind = 'officer' AND officer_id IS NOT NULL)",
            name="recipient",
        ),
        UniqueConstraint("message_id", "officer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id", ondelete="CASCADE"), index=True)
    recipient_kind: Mapped[RecipientKind] = mapped_column(enum_values(RecipientKind, 16))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    ephemeral_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(48))
