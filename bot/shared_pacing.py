"""Telegram's pacing kept in PostgreSQL, so that every bot instance of one token paces together.

Telegram's limits are per bot token; several instances (webhook mode, one PostgreSQL) must share
them. Each bucket is a leaky bucket kept as one time (GCRA's theoretical arrival time, `free_at`):
a send reserves its slot in its chat's bucket and then in the overall one, in one statement that
also reads the pause a RetryAfter left, and gets back how long to wait. Nothing is held while the
caller waits or while Telegram answers. The semantics are those of the in-memory limiters in
bot.pacing (a burst, then an even pace); the arithmetic, and the clock, are the database's, so
instances with different clocks still agree.

A chat's bucket is a keyed hash of its id and the hour (a domain of its own: it joins no other
table, and a chat's rows of two hours do not link). The times are exact (pacing needs them), so
a row lives only while it says something: once `free_at` has passed it means what no row means,
and the instances delete it (bot.pacing: every PURGE_EVERY seconds while any bucket is left, and
at shutdown).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import text

from casework.vault import crypto
from casework.vault.keys import KeyRing
from storage.db import Database

_CHAT_DOMAIN = b"sro-connect pacing chat v1|"
OVERALL, PAUSED = "overall", "paused"
HOUR = 3600


@dataclass(frozen=True)
class Rate:
    """A leaky bucket: `burst` sends at once, then one every `interval` seconds."""

    burst: int
    interval: float

    @classmethod
    def of(cls, burst: int, seconds: float) -> Rate:
        """`burst` sends in `seconds` on average; the interval is rounded up to the microsecond, as
        PostgreSQL keeps times (1/30 s rounded down would send a hair faster than 30 a second)."""
        return cls(burst, math.ceil(seconds / burst * 1_000_000) / 1_000_000)

    @property
    def tolerance(self) -> float:
        """How far ahead of its pace a bucket may run: GCRA's tau, (burst - 1) intervals."""
        return (self.burst - 1) * self.interval


@dataclass(frozen=True)
class Slot:
    """A reserved send: when it may go (the database's clock), and how long that is from now."""

    at: datetime
    delay: float


class Purged(NamedTuple):
    deleted: int
    left: int  # buckets still running (or being updated as the purge ran)


# Chat first, then the overall bucket from the chat's slot: the overall rate is kept exactly (it
# is the one that pauses the whole bot when exceeded), as bot.pacing's limiters do in that order.
_RESERVE = text(
    """
WITH clock AS (
    SELECT greatest(
        clock_timestamp(),
        coalesce((SELECT free_at FROM pacing_buckets WHERE bucket = :paused), '-infinity'::timestamptz)
    ) AS t0
),
chat AS (
    INSERT INTO pacing_buckets AS b (bucket, free_at)
    SELECT :chat, t0 + make_interval(secs => :chat_interval) FROM clock
    ON CONFLICT (bucket) DO UPDATE
    SET free_at = greatest(b.free_at, excluded.free_at - make_interval(secs => :chat_interval))
        + make_interval(secs => :chat_interval)
    RETURNING free_at
),
chat_slot AS (
    SELECT greatest(
        clock.t0, chat.free_at - make_interval(secs => :chat_interval + :chat_tolerance)
    ) AS at
    FROM clock, chat
),
overall AS (
    INSERT INTO pacing_buckets AS b (bucket, free_at)
    SELECT :overall, at + make_interval(secs => :overall_interval) FROM chat_slot
    ON CONFLICT (bucket) DO UPDATE
    SET free_at = greatest(b.free_at, excluded.free_at - make_interval(secs => :overall_interval))
        + make_interval(secs => :overall_interval)
    RETURNING free_at
)
SELECT
    greatest(
        chat_slot.at, overall.free_at - make_interval(secs => :overall_interval + :overall_tolerance)
    ) AS at,
    clock_timestamp() AS now
FROM chat_slot, overall
"""
)

_PAUSE = text(
    """
INSERT INTO pacing_buckets AS b (bucket, free_at)
VALUES (:paused, clock_timestamp() + make_interval(secs => :seconds))
ON CONFLICT (bucket) DO UPDATE SET free_at = greatest(b.free_at, excluded.free_at)
RETURNING free_at
"""
)

# SKIP LOCKED: a bucket a send is updating right now is not waited for (nor deadlocked on). The
# count is of the rows before the delete (a statement does not see its own CTE's changes).
_PURGE = text(
    """
WITH gone AS (
    DELETE FROM pacing_buckets WHERE bucket IN (
        SELECT bucket FROM pacing_buckets WHERE free_at < clock_timestamp() FOR UPDATE SKIP LOCKED
    )
    RETURNING bucket
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM pacing_buckets)
"""
)


def chat_bucket(keys: KeyRing, chat_id: int, hour: int) -> str:
    """The chat's bucket in this hour: a keyed hash, apart from the drafts' and the intake's."""
    return crypto.keyed_hash(keys.pseudonym_key, _CHAT_DOMAIN, f"{hour}|{chat_id}".encode()).hex()


class SharedBuckets:
    """The buckets in the database (PostgreSQL only): reserve a slot, pause everyone, purge."""

    def __init__(self, db: Database, keys: KeyRing, *, overall: Rate, private: Rate, group: Rate) -> None:
        if db.dialect != "postgresql":
            raise ValueError("shared pacing needs PostgreSQL")
        self.db, self.keys = db, keys
        self.overall, self.private, self.group = overall, private, group

    async def reserve(self, chat_id: int) -> Slot:
        """One statement: this chat's next slot, after any pause, within the overall rate."""
        chat_rate = self.group if chat_id < 0 else self.private
        params = {
            "paused": PAUSED,
            "overall": OVERALL,
            "chat": chat_bucket(self.keys, chat_id, int(time.time()) // HOUR),
            "chat_interval": chat_rate.interval,
            "chat_tolerance": chat_rate.tolerance,
            "overall_interval": self.overall.interval,
            "overall_tolerance": self.overall.tolerance,
        }
        async with self.db.engine.begin() as connection:
            at, now = (await connection.execute(_RESERVE, params)).one()
        return Slot(at, max(0.0, (at - now).total_seconds()))

    async def pause(self, seconds: float) -> datetime:
        """No instance sends before `seconds` from now (a RetryAfter); returns when that is."""
        async with self.db.engine.begin() as connection:
            result = await connection.execute(_PAUSE, {"paused": PAUSED, "seconds": seconds})
            until: datetime = result.scalar_one()
        return until

    async def purge(self) -> Purged:
        """Delete the buckets whose time has passed (they mean what no row means)."""
        async with self.db.engine.begin() as connection:
            deleted, before = (await connection.execute(_PURGE)).one()
        return Purged(int(deleted), int(before) - int(deleted))
