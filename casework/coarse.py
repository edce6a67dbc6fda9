"""Coarse times for rows that sit beside a pseudonym, so that a database reader cannot link them by time.

Drafts and rate limits keep their exact times inside their sealed payload; the
columns a database reader sees are rounded to `GRAIN` (floor for "last seen",
ceiling for "expires"), which says only which quarter hour a student was
active in. docs/storage.md ("Linking by time") gives the rule per table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

GRAIN = timedelta(minutes=15)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def floor(moment: datetime, grain: timedelta = GRAIN) -> datetime:
    """The start of the grain `moment` falls in."""
    return moment - (moment - _EPOCH) % grain


def ceil(moment: datetime, grain: timedelta = GRAIN) -> datetime:
    """The first grain boundary at or after `moment`."""
    start = floor(moment, grain)
    return start if start == moment else start + grain
