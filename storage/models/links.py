"""Schools' deep-link tokens, and students' "Did this help?": counted per school and month, never per case."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, one_of
from storage.types import enum_values


class SchoolLink(Base):
    """A school's public start token: `https://t.me/<bot>?start=<token>` preselects the school.

    Random, so a token says nothing but the school it opens (which posters print on purpose); the
    bot keeps it nowhere once it has read the school from it.
    """

    __tablename__ = "school_links"

    school_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # Telegram's start parameter: 1-64 characters of A-Za-z0-9_- (casework.links makes 16 of them).
    token: Mapped[str] = mapped_column(String(64), unique=True)


class FeedbackAnswer(StrEnum):
    HELPED = "helped"  # 👍
    NOT_HELPED = "not_helped"  # 👎
    UNSURE = "unsure"  # 🤷


class FeedbackCount(Base):
    """How many students answered "Did this help?" so, per school and month. No case, no day, no time.

    `school_id` 0 is "no school" (a case sent before its school was chosen), as in `protected_months`,
    hence no foreign key; schools are deactivated, never deleted, so ids stay meaningful.
    """

    __tablename__ = "feedback_counts"
    __table_args__ = (one_of("answer", FeedbackAnswer),)

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day, in the program's time zone
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    answer: Mapped[FeedbackAnswer] = mapped_column(enum_values(FeedbackAnswer, 16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class FeedbackAsked(Base):
    """A closed case whose student was asked "Did this help?": asked once, whatever they answered.

    Only that it was asked: not whether, when or how the student answered, so the case (while it is
    kept) cannot be matched to a count. Goes with the case (purge, /forget).
    """

    __tablename__ = "feedback_asked"

    case_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
