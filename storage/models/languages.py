"""Which languages an officer reads besides English (issue 14): staff data, never a student's."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class OfficerLanguage(Base):
    """An officer reads tips written in `language` ("fr"): French tips prefer them (casework.delivery.routing)

    Not covered by the directory's MACs, on purpose and like `unreachable_at`: it only chooses among
    the officers of one link of the chain, already verified, who gets a French tip first. A database
    writer can narrow that choice within the link, never add a reader or skip a level (a link with no
    reader of the language gets the tip whole; escalation goes on as for any tip).
    """

    __tablename__ = "officer_languages"

    officer_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
