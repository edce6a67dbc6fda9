"""SQLite's writer turns: a priority transaction (the outbox's) goes before those already waiting.

Under `make bench-load`'s burst of 200 students, tips were stored within seconds but most reached
their officers only once every student had been answered: each send's "sent" mark waited behind the
whole queue of students' transactions. Priority turns let the outbox through first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text

from storage.db import Database, Priority

WAITING = 8


async def _database(tmp_path: Path) -> Database:
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'priority.db'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE written (who TEXT)"))
    return db


async def _write(db: Database, who: str, priority: Priority = Priority.NORMAL) -> None:
    async with db.transaction(priority) as session:
        await session.execute(text("INSERT INTO written (who) VALUES (:who)"), {"who": who})


@asynccontextmanager
async def _writer_held(db: Database) -> AsyncIterator[None]:
    """A transaction (writing 'holder') holds the writer until the block ends, then commits."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO written (who) VALUES ('holder')"))
            holding.set()
            await release.wait()

    held = asyncio.create_task(holder())
    await holding.wait()
    try:
        yield
    finally:
        release.set()
        await held


async def _written(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(text("SELECT who FROM written ORDER BY rowid")))


async def _order(db: Database, asked: list[tuple[str, Priority]]) -> list[str]:
    """While one transaction holds the writer, `asked` queue in that order; the order they wrote in."""
    async with _writer_held(db):
        waiting = [asyncio.create_task(_write(db, who, priority)) for who, priority in asked]
        await asyncio.sleep(0.05)  # every one queued for the writer, in the order asked
    await asyncio.gather(*waiting)
    return await _written(db)


STUDENTS = [(f"student {n}", Priority.NORMAL) for n in range(WAITING)]


async def test_a_priority_transaction_writes_before_the_ones_already_waiting(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    try:
        order = await _order(db, [*STUDENTS, ("outbox", Priority.OUTBOX)])
    finally:
        await db.close()
    assert order == ["holder", "outbox", *(who for who, _ in STUDENTS)]


async def test_control_without_priority_it_waits_its_turn_behind_them(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    try:
        order = await _order(db, [*STUDENTS, ("outbox", Priority.NORMAL)])
    finally:
        await db.close()
    assert order == ["holder", *(who for who, _ in STUDENTS), "outbox"]


async def test_waiting_transactions_go_by_priority_then_in_the_order_they_asked(tmp_path: Path) -> None:
    asked = [
        ("save 1", Priority.NORMAL),
        ("load 1", Priority.FIRST_ANSWER),
        ("save 2", Priority.NORMAL),
        ("tip", Priority.OUTBOX),
        ("load 2", Priority.FIRST_ANSWER),
        ("updates stored", Priority.INTAKE),
    ]
    db = await _database(tmp_path)
    try:
        order = await _order(db, asked)
    finally:
        await db.close()
    assert order == ["holder", "updates stored", "tip", "load 1", "load 2", "save 1", "save 2"]


async def test_a_cancelled_waiter_passes_the_writer_on_and_nothing_hangs(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    try:
        async with asyncio.timeout(30):
            async with _writer_held(db):
                cancelled = asyncio.create_task(_write(db, "cancelled", Priority.OUTBOX))
                after = asyncio.create_task(_write(db, "after"))
                await asyncio.sleep(0.05)
            # The holder is done and handed the writer to the first waiter: cancelled now, whether or
            # not it woke to write.
            cancelled.cancel()
            await asyncio.gather(after, cancelled, return_exceptions=True)
            written = set(await _written(db))
    finally:
        await db.close()
    assert {"holder", "after"} <= written
