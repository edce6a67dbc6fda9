"""Rate limits keyed by pseudonym and bucket, with a delay that doubles each time the limit is broken.

`hit` counts one attempt in a fixed window; past `limit`, the key is blocked
for `window`, then twice that, and so on (up to a day); the strikes are
forgotten after a day without a block. Used for case-code lookups ("failed
lookups slow down") and for anything else a student could hammer.

/forget leaves these rows alone (casework.cases.forgetting): a row holds a keyed pseudonym and
sealed counts, nothing a student wrote, and goes by itself once it stops mattering (at most two
days: a day's block, then a day until its strikes are forgotten). Deleting it would reset the
count, so "send 19, /forget, again" or "guess 3 codes, /forget, again" would never be slowed.

The window, count, strikes and block need the second, and a time to the
second beside a pseudonym would let a database reader link it to the case
created in that second. So they are sealed with the server 'state' key; the
only plain time is `expires_at`, rounded up to a quarter hour (casework.coarse),
after which the row says nothing that matters and `purge_expired` deletes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import coarse
from casework.vault import crypto
from casework.vault.keys import KeyRing
from storage import dialect
from storage.models import RateLimit

MAX_BLOCK = timedelta(days=1)
FORGET_STRIKES_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Limit:
    """A bucket's limit: `limit` attempts per `window`."""

    bucket: str
    limit: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_at: datetime | None = None  # when blocked: the earliest moment to try again


@dataclass(slots=True)
class _Counter:
    window_start: datetime
    count: int = 0
    # How many times in a row the limit was broken: each block lasts twice the last.
    strikes: int = 0
    blocked_until: datetime | None = None

    def expires_at(self, window: timedelta) -> datetime:
        """When the row stops mattering: its window is over, and so are its block and strikes."""
        end = self.window_start + window
        if self.blocked_until is not None:
            end = max(end, self.blocked_until + (FORGET_STRIKES_AFTER if self.strikes else timedelta(0)))
        return end


def _aad(key: str, bucket: str) -> bytes:
    return f"sro-connect rate-limit v1|{key}|{bucket}".encode()


def _open(keys: KeyRing, row: RateLimit, now: datetime) -> _Counter:
    if not row.ciphertext:  # an empty placeholder, as `hit` once inserted before it locked the row
        return _Counter(window_start=now)
    raw = json.loads(
        crypto.open_sealed(
            keys.state_key, crypto.Sealed(row.nonce, row.ciphertext), _aad(row.key, row.bucket)
        )
    )
    blocked = raw.get("blocked_until")
    return _Counter(
        window_start=datetime.fromisoformat(raw["window_start"]),
        count=int(raw["count"]),
        strikes=int(raw["strikes"]),
        blocked_until=None if blocked is None else datetime.fromisoformat(blocked),
    )


def _sealed(keys: KeyRing, key: str, bucket: str, counter: _Counter) -> crypto.Sealed:
    payload = {
        "window_start": counter.window_start.isoformat(),
        "count": counter.count,
        "strikes": counter.strikes,
        "blocked_until": None if counter.blocked_until is None else counter.blocked_until.isoformat(),
    }
    return crypto.seal(keys.state_key, json.dumps(payload).encode(), _aad(key, bucket))


async def hit(
    session: AsyncSession,
    keys: KeyRing,
    key: str,
    bucket: str,
    *,
    limit: int,
    window: timedelta,
    now: datetime,
) -> Decision:
    """Count one attempt for (key, bucket) and say whether it may go ahead.

    Two statements (read the row locked, then update it, or insert it if there was none).
    """
    locked = select(RateLimit).where(RateLimit.key == key, RateLimit.bucket == bucket).with_for_update()
    row = await session.scalar(locked)
    return await _hit_row(session, keys, key, bucket, row, limit=limit, window=window, now=now)


async def hit_and_peek(
    session: AsyncSession,
    keys: KeyRing,
    key: str,
    counted: Limit,
    peeked: Limit,
    now: datetime,
) -> tuple[Decision, bool]:
    """`hit` on `counted`, and whether `peeked` has room for one more attempt (not counted there).

    Both rows in the one locked read `hit` makes: a student's every message pays this, inside the
    transaction that loads their state (bot.turn.load_turn), and knows at no extra statement
    whether it may open another urgent case.
    """
    rows = {
        row.bucket: row
        for row in await session.scalars(
            select(RateLimit)
            .where(RateLimit.key == key, RateLimit.bucket.in_((counted.bucket, peeked.bucket)))
            .with_for_update()
        )
    }
    other = rows.get(peeked.bucket)
    room = other is None or _room(_open(keys, other, now), limit=peeked.limit, window=peeked.window, now=now)
    decision = await _hit_row(
        session, keys, key, counted.bucket, rows.get(counted.bucket),
        limit=counted.limit, window=counted.window, now=now,
    )  # fmt: skip
    return decision, room


async def _hit_row(
    session: AsyncSession,
    keys: KeyRing,
    key: str,
    bucket: str,
    row: RateLimit | None,
    *,
    limit: int,
    window: timedelta,
    now: datetime,
) -> Decision:
    """Count one attempt on the row read locked (None: there was none, so it is inserted)."""
    if row is None:
        counter = _Counter(window_start=now)
        decision = _count(counter, limit=limit, window=window, now=now)
        sealed = _sealed(keys, key, bucket, counter)
        inserted = await session.execute(
            dialect.insert(session, RateLimit)
            .values(
                key=key,
                bucket=bucket,
                nonce=sealed.nonce,
                ciphertext=sealed.ciphertext,
                expires_at=coarse.ceil(counter.expires_at(window)),
            )
            .on_conflict_do_nothing()
        )
        if getattr(inserted, "rowcount", 0) == 1:
            return decision
        # Another first hit inserted it meanwhile (PostgreSQL waited for it to commit): count on it.
        row = await session.scalar(
            select(RateLimit).where(RateLimit.key == key, RateLimit.bucket == bucket).with_for_update()
        )
    assert row is not None  # there, or inserted just above by another transaction
    counter = _open(keys, row, now)
    decision = _count(counter, limit=limit, window=window, now=now)
    sealed = _sealed(keys, key, bucket, counter)
    row.nonce, row.ciphertext = sealed.nonce, sealed.ciphertext
    row.expires_at = coarse.ceil(counter.expires_at(window))
    return decision


def _room(counter: _Counter, *, limit: int, window: timedelta, now: datetime) -> bool:
    """Whether one more attempt would be allowed now (what `_count` would say, counting nothing)."""
    if counter.blocked_until is not None and counter.blocked_until > now:
        return False
    return now - counter.window_start >= window or counter.count < limit


def _count(counter: _Counter, *, limit: int, window: timedelta, now: datetime) -> Decision:
    if counter.blocked_until is not None and counter.blocked_until > now:
        return Decision(False, counter.blocked_until)
    if now - counter.window_start >= window:
        counter.window_start, counter.count = now, 0
        if counter.blocked_until is None or now - counter.blocked_until >= FORGET_STRIKES_AFTER:
            counter.strikes = 0
    counter.count += 1
    if counter.count <= limit:
        return Decision(True)
    counter.strikes += 1
    counter.blocked_until = now + min(window * 2 ** (counter.strikes - 1), MAX_BLOCK)
    counter.window_start, counter.count = now, 0
    return Decision(False, counter.blocked_until)


async def blocked_until(
    session: AsyncSession, keys: KeyRing, key: str, bucket: str, now: datetime
) -> datetime | None:
    """When (key, bucket) may try again, or None if it is not blocked now. Counts nothing."""
    row = await session.get(RateLimit, (key, bucket))
    if row is None:
        return None
    until = _open(keys, row, now).blocked_until
    return until if until is not None and until > now else None


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete the rows that no longer matter (their window, block and strikes are over)."""
    result = await session.execute(
        delete(RateLimit).where(RateLimit.expires_at <= now).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
