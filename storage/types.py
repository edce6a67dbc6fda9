"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Enum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored in UTC, read back aware on every database.

    PostgreSQL keeps `timestamptz` natively; SQLite has no time zones, so the
    value is stored as naive UTC text and given `UTC` back on the way out.
    Naive values are refused on the way in: a naive time is a bug waiting for
    a daylight-saving change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def enum_values(enum: type[StrEnum], length: int) -> Enum:
    """A StrEnum column stored as its members' values in a plain VARCHAR(length); members come back.

    The schema is exactly the string column it replaces: no native type (PostgreSQL's `CREATE
    TYPE`), and no CHECK of its own, since the models declare theirs (`one_of`) with stable names
    that the migrations created. Values, not names, are stored (`'in_progress'`, not `'IN_PROGRESS'`),
    and a string that is no member's value fails before it reaches the database.
    """
    return Enum(
        enum,
        native_enum=False,
        values_callable=_values,
        create_constraint=False,
        length=length,
        validate_strings=True,
    )
