"""Rate limits keyed by pseudonym and bucket, with a delay that doubles each time the limit is broken.

`hit` counts one attempt in a fixed window; past `limit`, the key is blocked
for `window`, then twice that, and so on (up to a day); the strikes are
forgotten after a day without a block. Used for case-code lookups ("failed
lookups slow down") and for anything else a student could hammer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.models import RateLimit

MAX_BLOCK = timedelta(days=1)
FORGET_STRIKES_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_at: datetime | None = None  # when blocked: the earliest moment to try again


async def hit(
    session: AsyncSession, key: str, bucket: str, *, limit: int, window: timedelta, now: datetime
) -> Decision:
    """Count one attempt for (key, bucket) and say whether it may go ahead."""
    await session.execute(
        dialect.insert(session, RateLimit)
        .values(key=key, bucket=bucket, window_start=now, count=0, strikes=0, blocked_until=None)
        .on_conflict_do_nothing()
    )
    row = await session.scalar(
        select(RateLimit).where(RateLimit.key == key, RateLimit.bucket == bucket).with_for_update()
    )
    assert row is not None  # inserted just above if it was missing
    if row.blocked_until is not None and row.blocked_until > now:
        return Decision(False, row.blocked_until)
    if now - row.window_start >= window:
        row.window_start, row.count = now, 0
        if row.blocked_until is None or now - row.blocked_until >= FORGET_STRIKES_AFTER:
            row.strikes = 0
    row.count += 1
    if row.count <= limit:
        return Decision(True)
    row.strikes += 1
    row.blocked_until = now + min(window * 2 ** (row.strikes - 1), MAX_BLOCK)
    row.window_start, row.count = now, 0
    return Decision(False, row.blocked_until)


async def blocked_until(session: AsyncSession, key: str, bucket: str, now: datetime) -> datetime | None:
    """When (key, bucket) may try again, or None if it is not blocked now. Counts nothing."""
    row = await session.get(RateLimit, (key, bucket))
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return None
    return row.blocked_until
