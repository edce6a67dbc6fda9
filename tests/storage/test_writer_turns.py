"""SQLite's one writer under a burst: a process's transactions queue for their turn, never fail.

Under `make bench-load`'s burst of 200 students on a loaded machine, students choosing their school
were told "something went wrong": their transactions had waited for SQLite's lock longer than its
busy timeout, sleeping and polling. These tests shrink the busy timeout so that a short burst is
longer than it, and hold each transaction open a moment, as a turn that awaits the database does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import Database, create_engine

BUSY_MS = 150  # SQLite's busy timeout here; the burst below holds the lock about ten times longer
BURST = 12
HOLD_S = 0.12


async def _database(tmp_path: Path) -> Database:
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", busy_timeout_ms=BUSY_MS))
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE written (n INTEGER)"))
    return db


async def _burst(db: Database) -> list[BaseException | None]:
    async def one(n: int) -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO written (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(HOLD_S)  # the transaction stays open, holding the write lock

    results = await asyncio.gather(*(one(n) for n in range(BURST)), return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]


async def _written(db: Database) -> list[int]:
    async with db.transaction() as session:
        return sorted((await session.execute(text("SELECT n FROM written"))).scalars())


async def test_a_burst_longer_than_the_busy_timeout_queues_and_every_transaction_commits(
    tmp_path: Path,
) -> None:
    db = await _database(tmp_path)
    try:
        failures = [r for r in await _burst(db) if r is not None]
        assert failures == []
        assert await _written(db) == list(range(BURST))
    finally:
        await db.close()


async def test_control_left_to_sqlite_the_same_burst_fails_some_transactions(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    db._turns = None  # the positive control: SQLite's busy handler alone, as before
    try:
        failures = [r for r in await _burst(db) if r is not None]
        assert failures, "the burst should outlast SQLite's busy timeout without turns"
        assert all(isinstance(f, OperationalError) and "locked" in str(f) for f in failures)
        assert len(await _written(db)) == BURST - len(failures)
    finally:
        await db.close()


async def test_a_transaction_inside_its_own_tasks_transaction_fails_as_before_and_does_not_hang(
    tmp_path: Path,
) -> None:
    db = await _database(tmp_path)
    try:
        async with asyncio.timeout(30):
            async with db.transaction() as outer:
                await outer.execute(text("INSERT INTO written (n) VALUES (1)"))
                with pytest.raises(OperationalError, match="locked"):
                    async with db.transaction() as inner:
                        await inner.execute(text("INSERT INTO written (n) VALUES (2)"))
        assert await _written(db) == [1]
    finally:
        await db.close()
