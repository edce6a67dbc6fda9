"""SQLite's writer turns: a priority transaction (the outbox's) goes before those already waiting.

Under `make bench-load`'s burst of 200 students, tips were stored within seconds but most reached
their officers only once every student had been answered: each send's "sent" mark waited behind the
whole queue of students' transactions. Priority turns let the outbox through first.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from storage.db import Database, Priority

WAITING = 8


async def _database(tmp_path: Path) -> Database:
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'priority.db'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE written (who TEXT)"))
    return db


async def _order(db: Database, *, priority: bool) -> list[str]:
    """One transaction holds the writer while WAITING others queue, then one more asks (`priority`)."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO written (who) VALUES ('holder')"))
            holding.set()
            await release.wait()

    async def write(who: str, *, first: bool = False) -> None:
        async with db.transaction(Priority.OUTBOX if first else Priority.NORMAL) as session:
            await session.execute(text("INSERT INTO written (who) VALUES (:who)"), {"who": who})

    held = asyncio.create_task(holder())
    await holding.wait()
    students = [asyncio.create_task(write(f"student {n}")) for n in range(WAITING)]
    await asyncio.sleep(0.05)  # each student's transaction is queued for the writer
    outbox = asyncio.create_task(write("outbox", first=priority))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(held, outbox, *students)
    async with db.transaction() as session:
        return list(await session.scalars(text("SELECT who FROM written ORDER BY rowid")))


async def test_a_priority_transaction_writes_before_the_ones_already_waiting(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    try:
        order = await _order(db, priority=True)
    finally:
        await db.close()
    assert order == ["holder", "outbox", *(f"student {n}" for n in range(WAITING))]


async def test_control_without_priority_it_waits_its_turn_behind_them(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    try:
        order = await _order(db, priority=False)
    finally:
        await db.close()
    assert order == ["holder", *(f"student {n}" for n in range(WAITING)), "outbox"]


async def test_a_cancelled_waiter_passes_the_writer_on_and_nothing_hangs(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO written (who) VALUES ('holder')"))
            holding.set()
            await release.wait()

    async def write(who: str) -> None:
        async with db.transaction(Priority.OUTBOX if who == "cancelled" else Priority.NORMAL) as session:
            await session.execute(text("INSERT INTO written (who) VALUES (:who)"), {"who": who})

    try:
        held = asyncio.create_task(holder())
        await holding.wait()
        cancelled = asyncio.create_task(write("cancelled"))
        after = asyncio.create_task(write("after"))
        await asyncio.sleep(0.05)
        release.set()
        cancelled.cancel()  # handed the writer as the holder ends, or still waiting: either way
        async with asyncio.timeout(30):
            await asyncio.gather(held, after, cancelled, return_exceptions=True)
            async with db.transaction() as session:
                written = set(await session.scalars(text("SELECT who FROM written")))
    finally:
        await db.close()
    assert {"holder", "after"} <= written


async def test_waiting_transactions_go_by_priority_then_in_the_order_they_asked(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO written (who) VALUES ('holder')"))
            holding.set()
            await release.wait()

    async def write(who: str, priority: Priority) -> None:
        async with db.transaction(priority) as session:
            await session.execute(text("INSERT INTO written (who) VALUES (:who)"), {"who": who})

    asked = [
        ("save 1", Priority.NORMAL),
        ("load 1", Priority.FIRST_ANSWER),
        ("save 2", Priority.NORMAL),
        ("tip", Priority.OUTBOX),
        ("load 2", Priority.FIRST_ANSWER),
    ]
    try:
        held = asyncio.create_task(holder())
        await holding.wait()
        waiting = [asyncio.create_task(write(who, priority)) for who, priority in asked]
        await asyncio.sleep(0.05)  # every one queued, in the order asked
        release.set()
        await asyncio.gather(held, *waiting)
        async with db.transaction() as session:
            order = list(await session.scalars(text("SELECT who FROM written ORDER BY rowid")))
    finally:
        await db.close()
    assert order == ["holder", "tip", "load 1", "load 2", "save 1", "save 2"]
