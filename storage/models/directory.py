"""Schools, officers, their enrollment codes and their assignments: staff data, never a student's."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, one_of
from storage.types import UTCDateTime, enum_values


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"


class AssignmentKind(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    board: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Officer(Base):
    __tablename__ = "officers"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_values(Role, 16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The officer's own Telegram chat once enrolled: staff data, needed to deliver tips.
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when Telegram answers 403 (the officer blocked the bot); cleared by re-enrolment.
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Only while a key rotation re-wraps old envelopes: the officer's previous private key.
    previous_sealed_private_key: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    # Key version and HMAC over id, name, role, active, chat and public key (casework.vault.directory_auth):
    # a database writer without the master key can neither add a reader nor redirect one.
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(34))


class EnrollmentCode(Base):
    __tablename__ = "enrollment_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Assignment(Base):
    """An officer serving a school, as primary or backup; `ends_at` NULL while it lasts."""

    __tablename__ = "assignments"
    __table_args__ = (one_of("kind", AssignmentKind),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AssignmentKind] = mapped_column(enum_values(AssignmentKind, 16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Key version and HMAC over every column (casework.vault.directory_auth).
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(34))
