"""Rate limits: a first hit inserts its counted row at once; two first hits at the same moment both count."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from casework import rate_limits
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import RateLimit
from tests.storage.fixtures import BACKENDS

KEY = "rate-limit-test-pseudonym"
WINDOW = timedelta(minutes=1)
POSTGRESQL = BACKENDS[1]


async def test_a_first_hit_is_two_statements_and_counts(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with database.transaction() as session:
            first = await rate_limits.hit(session, keys, KEY, "messages", limit=2, window=WINDOW, now=now)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    assert first.allowed
    assert len(statements) == 2, statements  # the locked read that finds nothing, then the insert
    async with database.transaction() as session:
        second = await rate_limits.hit(session, keys, KEY, "messages", limit=2, window=WINDOW, now=now)
        third = await rate_limits.hit(session, keys, KEY, "messages", limit=2, window=WINDOW, now=now)
    assert second.allowed
    assert not third.allowed  # the first hit was counted: this is the third in the window
    assert third.retry_at == now + WINDOW


# PostgreSQL only: SQLite has one writer, so two first hits cannot interleave there.
@pytest.mark.parametrize("test_database", [POSTGRESQL], indirect=True)
async def test_two_first_hits_at_once_both_count(database: Database, keys: KeyRing, now: datetime) -> None:
    """Both read no row; the first inserts and commits while the second is inserting: the second's
    insert does nothing, so it counts on the first's row (a lost count would let a flood through)."""
    first_hit, second_read = asyncio.Event(), asyncio.Event()

    async def first() -> rate_limits.Decision:
        async with database.transaction() as session:
            decision = await rate_limits.hit(session, keys, KEY, "messages", limit=2, window=WINDOW, now=now)
            first_hit.set()
            await second_read.wait()  # commits only once the second has found no row
        return decision

    async def second() -> rate_limits.Decision:
        await first_hit.wait()
        async with database.transaction() as session:
            real = session.scalar

            async def scalar(*args: Any, **kwargs: Any) -> Any:
                found = await real(*args, **kwargs)
                second_read.set()
                return found

            session.scalar = scalar  # type: ignore[method-assign]
            return await rate_limits.hit(session, keys, KEY, "messages", limit=2, window=WINDOW, now=now)

    decisions = await asyncio.gather(first(), second())
    assert [d.allowed for d in decisions] == [True, True]
    async with database.transaction() as session:
        assert len(list(await session.scalars(select(RateLimit).where(RateLimit.key == KEY)))) == 1
        third = await rate_limits.hit(session, keys, KEY, "messages", limit=2, window=WINDOW, now=now)
    assert not third.allowed  # both first hits were counted


async def test_a_peek_reads_room_without_counting(database: Database, keys: KeyRing, now: datetime) -> None:
    """The flood limit is counted; the urgent-case cap is only read, in the same query."""
    messages = rate_limits.Limit("messages", 20, WINDOW)
    cases = rate_limits.Limit("urgent-cases", 2, timedelta(hours=1))

    async def peek(at: datetime) -> bool:
        async with database.transaction() as session:
            decision, room = await rate_limits.hit_and_peek(session, keys, KEY, messages, cases, at)
        assert decision.allowed
        return room

    async def open_case(at: datetime) -> None:
        async with database.transaction() as session:
            await rate_limits.hit(
                session, keys, KEY, cases.bucket, limit=cases.limit, window=cases.window, now=at
            )

    assert await peek(now)  # no row yet: room
    await open_case(now)
    assert await peek(now)
    assert await peek(now)  # reading twice counted nothing
    await open_case(now)
    assert not await peek(now + timedelta(minutes=59))  # two in the hour: no room for a third
    assert await peek(now + timedelta(hours=1))  # a new window
