"""A school's protected month encoded as the cache keeps it (`stats_cache`): exact values, and markers.

Apart from `cache` (which reads and writes the database) so that a process protecting months
(`stats_pool`'s helpers) needs only the protection's own imports.
"""

from __future__ import annotations

import json
import zlib
from datetime import date

from casework.stats.cube import ALL_INTENTS, COUNT, URGENT, CellKey, Published
from casework.stats.disclosure import Status
from casework.stats.periods import Granularity, Period, month_start, period_of

FORMAT = 1  # of the encoded cells

MEASURES = (COUNT, URGENT)
GRANULARITIES = (Granularity.DAY, Granularity.WEEK, Granularity.MONTH)


class CacheFormatError(ValueError):
    """A cached month that cannot be read back (or a cell that must never be cached)."""


def encode(month: date, cells: dict[CellKey, Published]) -> bytes:
    """One school's published cells of `month`, compact: exact values, and the markers of the others.

    Four lines of JSON, compressed: the format and the intents' names, then
    the cells of each granularity (day, week, month; each line read only when
    needed) as [measure, intent, first day of the period, status, value], the
    value 0 for every hidden count.
    """
    intents = sorted({key[2] for key in cells if key[2] != ALL_INTENTS})
    index = {intent: n for n, intent in enumerate(intents)}
    levels: list[list[list[int]]] = [[] for _ in GRANULARITIES]
    places: dict[Period, tuple[list[list[int]], int]] = {}  # each period's level and day, checked once
    for (measure, _school, intent, period), cell in cells.items():
        if cell.status not in (Status.EXACT, Status.SMALL, Status.WITHHELD):
            raise CacheFormatError(f"status {cell.status!r} is never published")
        if cell.status != Status.EXACT and cell.value != 0:
            raise CacheFormatError("a hidden count's value must never be cached")
        place = places.get(period)
        if place is None:
            if month_start(period.start) != month or period != period_of(period.start, period.granularity):
                raise CacheFormatError(f"period {period} is not a period of {month:%Y-%m}")
            place = places[period] = (
                levels[GRANULARITIES.index(period.granularity)],
                (period.start - month).days,
            )
        place[0].append(
            [
                MEASURES.index(measure),
                -1 if intent == ALL_INTENTS else index[intent],
                place[1],
                int(cell.status),
                cell.value,
            ]
        )
    header = json.dumps({"format": FORMAT, "intents": intents}, separators=(",", ":"))
    lines = [header, *(json.dumps(level, separators=(",", ":")) for level in levels)]
    return zlib.compress("\n".join(lines).encode(), 6)
