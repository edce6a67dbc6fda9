"""What outlives cases: anonymous statistics (and their protected form), response times, the audit trail,
and the sealed server keys."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, one_of
from storage.types import UTCDateTime, enum_values


class IntentStat(Base):
    """One count per school, intent, day and urgency. No text, no identifier, no link to a case."""

    __tablename__ = "intent_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    intent: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date, index=True)
    urgent: Mapped[bool] = mapped_column(Boolean)
    count: Mapped[int] = mapped_column(Integer)


# One row per cell; a NULL school ("no school chosen yet") must collide with itself on both
# databases, which a plain UNIQUE does not do, hence the expression.
INTENT_STATS_CELL = (
    func.coalesce(IntentStat.school_id, literal_column("0")),
    IntentStat.intent,
    IntentStat.day,
    IntentStat.urgent,
)
Index("uq_intent_stats_cell", *INTENT_STATS_CELL, unique=True)


class ProtectedMonth(Base):
    """One school's month of statistics as `sro stats` publishes it: a cache, rebuilt from `intent_stats`.

    `cells` holds only what is published anyway: exact counts, and for a
    count shown as `<5` or `x` its marker alone, never its value (format in
    `casework.stats.cache`). `fingerprint` is a SHA-256 of the school-month's
    rows in `intent_stats` (and of the protection's version): when they
    change, the cached month no longer matches and is protected again. A
    hash of rows kept in full in the table next to it, it is never shown.
    `school_id` 0 is "no school chosen" (no foreign key: the cache may be
    dropped and rebuilt at any time).
    """

    __tablename__ = "protected_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    cells: Mapped[bytes] = mapped_column(LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResponseMeasure(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    FIRST_REPLY = "first_reply"


class ResponseTime(Base):
    """How long a case waited for an officer, kept apart from the case so it survives the purge."""

    __tablename__ = "response_times"
    __table_args__ = (one_of("measure", ResponseMeasure),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date, index=True)
    measure: Mapped[ResponseMeasure] = mapped_column(enum_values(ResponseMeasure, 16))
    seconds: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    """Who did what to which case, and when: never content, intent or urgency.

    A case's rows go with the case (ON DELETE CASCADE): the purge leaves only a
    count-only 'cases.purged' row, so no timeline outlives its case.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    detail: Mapped[str | None] = mapped_column(String(200))


class ServerKey(Base):
    """A random data key sealed with the master key; rotation replaces it (all but 'case_code')."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The key generation: every key of one generation carries the same number (casework.vault.keys).
    version: Mapped[int] = mapped_column(Integer, default=1)


class KeyRotation(Base):
    """One `sro keys rotate`: re-keyed up to `boundary_message_id`, re-wrapped through `done_through`."""

    __tablename__ = "key_rotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    boundary_message_id: Mapped[int] = mapped_column(Integer)
    done_through: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
