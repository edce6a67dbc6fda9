"""The cache of protected months: each settled school-month protected once, then read back.

Protection (`stats_cube`) is the slow part of `sro stats`, and a settled
month never changes: statistics are recorded for today, and only months
that are over are published. So each school's protected month is kept in
`protected_months`, keyed by the month, the school and a fingerprint of the
rows it was computed from. A row imported late changes the fingerprint, and
that school-month is protected again; nothing else is.

What is kept is only what is published anyway: exact counts, and for a count
shown as `<5` or `x` its marker alone (`encode` refuses anything else). The
fingerprint is a SHA-256 of the school-month's `intent_stats` rows, which sit
in full in the same database; it is never shown.

Schools are protected independently (`stats_cube`), so a school-month is the
unit of caching, and the all-schools numbers are derived from the schools'
numbers each time (they add nothing to protect).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.stats.cube import ALL_INTENTS, CellKey, Published
from casework.stats.disclosure import Status
from casework.stats.encoding import FORMAT as FORMAT
from casework.stats.encoding import GRANULARITIES, MEASURES
from casework.stats.encoding import CacheFormatError as CacheFormatError
from casework.stats.encoding import encode as encode
from casework.stats.periods import Granularity, Period, period_of
from storage import dialect
from storage.models import ProtectedMonth

# Bump whenever protection may give a different table for the same rows (stats_cube, disclosure,
# disclosure_audit): every cached month then misses and is protected again by the new code.
PROTECTION_VERSION = 3  # 3: each month protected as a chain of its complete days (stats_cube)


# One row of a school-month as read from `intent_stats`: intent, day, urgent, count.
StatRow = tuple[str, date, bool, int]


@dataclass(frozen=True, slots=True)
class CachedMonth:
    month: date
    school: int
    fingerprint: bytes
    cells: bytes  # `encode`d


def fingerprint(month: date, school: int, rows: Iterable[StatRow]) -> bytes:
    """SHA-256 of one school-month's rows in a fixed order, and of the protection's and format's versions."""
    header = f"sro protected month v{PROTECTION_VERSION}.{FORMAT}\n{month}\n{school}\n"
    lines = [
        f"{intent}\t{day.toordinal()}\t{urgent:d}\t{count}\n" for intent, day, urgent, count in sorted(rows)
    ]
    return hashlib.sha256((header + "".join(lines)).encode()).digest()


class SchoolMonth:
    """One school's cached cells of a month, decoded a granularity at a time (most queries need one)."""

    def __init__(self, month: date, school: int, blob: bytes) -> None:
        self.month, self.school = month, school
        try:
            header, *self._levels = zlib.decompress(blob).split(b"\n")
            payload = json.loads(header)
            if payload["format"] != FORMAT:
                raise CacheFormatError(f"cached cells in format {payload['format']}, expected {FORMAT}")
            self._intents: list[str] = payload["intents"]
            if len(self._levels) != len(GRANULARITIES):
                raise CacheFormatError("cached cells without their three granularities")
        except (ValueError, KeyError, TypeError, zlib.error) as error:
            raise self._unreadable() from error

    def level(self, granularity: Granularity) -> dict[CellKey, Published]:
        """The school's cells of one granularity."""
        try:
            return self._decode(granularity)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise self._unreadable() from error

    def _decode(self, granularity: Granularity) -> dict[CellKey, Published]:
        month, school, intents = self.month, self.school, self._intents
        periods: dict[int, Period] = {}
        hidden = {int(s): Published(0, s) for s in (Status.SMALL, Status.WITHHELD)}
        cells: dict[CellKey, Published] = {}
        for measure, intent, offset, status, value in json.loads(
            self._levels[GRANULARITIES.index(granularity)]
        ):
            period = periods.get(offset)
            if period is None:
                period = periods[offset] = period_of(
                    date.fromordinal(month.toordinal() + offset), granularity
                )
            key = (MEASURES[measure], school, ALL_INTENTS if intent < 0 else intents[intent], period)
            cells[key] = Published(value, Status.EXACT) if status == Status.EXACT else hidden[status]
        return cells

    def _unreadable(self) -> CacheFormatError:
        return CacheFormatError(f"cached month {self.month:%Y-%m} of school {self.school} is unreadable")


def decode(month: date, school: int, blob: bytes) -> dict[CellKey, Published]:
    """Every cell `encode` kept, as the school's cells of `month`."""
    cached = SchoolMonth(month, school, blob)
    return {key: cell for granularity in GRANULARITIES for key, cell in cached.level(granularity).items()}


async def load(
    session: AsyncSession, months: Sequence[date], school: int | None = None
) -> dict[tuple[date, int], CachedMonth]:
    """The cached school-months of `months` (of one school if given), by (month, school)."""
    if not months:
        return {}
    statement = select(
        ProtectedMonth.month, ProtectedMonth.school_id, ProtectedMonth.fingerprint, ProtectedMonth.cells
    ).where(ProtectedMonth.month >= min(months), ProtectedMonth.month <= max(months))
    if school is not None:
        statement = statement.where(ProtectedMonth.school_id == school)
    wanted = set(months)
    return {
        (month, school_id): CachedMonth(month, school_id, bytes(print_), bytes(cells))
        for month, school_id, print_, cells in (await session.execute(statement)).all()
        if month in wanted
    }


async def store(session: AsyncSession, entries: Sequence[CachedMonth], now: datetime) -> None:
    """Keep freshly protected school-months, replacing what was cached for them before."""
    if not entries:
        return
    statement = dialect.insert(session, ProtectedMonth)
    statement = statement.on_conflict_do_update(
        index_elements=[ProtectedMonth.month, ProtectedMonth.school_id],
        set_={
            "fingerprint": statement.excluded.fingerprint,
            "cells": statement.excluded.cells,
            "computed_at": statement.excluded.computed_at,
        },
    )
    await session.execute(
        statement,
        [
            {
                "month": entry.month,
                "school_id": entry.school,
                "fingerprint": entry.fingerprint,
                "cells": entry.cells,
                "computed_at": now,
            }
            for entry in entries
        ],
    )
