"""`Database.read()`: lookups that take no writer turn, refuse any write, and `read_or_write` for the rare
read that must write after all (a forged record's alert), on both databases.

The bot's hot lookups (is this chat an officer's? what does this tip say?) run as reads so that a
burst of them never queues behind SQLite's one writer. A read that wrote would either lose the
write silently (SQLite: rolled back) or fail (PostgreSQL: READ ONLY), so every write is refused the
moment it is asked, the same way on both; `read_or_write` then does the whole work again in a
transaction, where the write commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from casework import officers
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database, WriteInRead
from storage.models import Alert, AlertKind, School
from tests.casework.world import build_world

ATTACKER_CHAT = 66_600_002


async def _schools(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(School)) or 0)


async def test_a_read_refuses_every_kind_of_write_and_nothing_is_written(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    await build_world(database, keys, policy, now)
    before = await _schools(database)
    assert before > 0  # control: the read sees the rows the writes below would change
    writes: list[Callable[[AsyncSession], Awaitable[object]]] = [
        lambda s: s.execute(insert(School).values(name="Planted", code="PLT", active=True, created_at=now)),
        lambda s: s.execute(update(School).values(name="Renamed")),
        lambda s: s.execute(delete(School)),
    ]
    for write in writes:
        with pytest.raises(WriteInRead):
            async with database.read() as session:
                await write(session)
    with pytest.raises(WriteInRead):  # an ORM object added, flushed
        await _add_school(database, now)
    with pytest.raises(WriteInRead):  # a loaded row changed, never flushed: refused at the end
        await _rename_a_school(database)
    async with database.read() as session:
        names = set(await session.scalars(select(School.name)))
    assert "Planted" not in names
    assert "Renamed" not in names
    assert await _schools(database) == before


async def test_read_or_write_writes_a_forged_records_alert_in_a_transaction(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    lookup = partial(_chat_of, world.north_officer)
    assert await database.read_or_write(lookup) is not None  # the true record: read, nothing written
    assert await _alerts(database) == 0
    async with database.transaction() as session:  # a database writer swaps the officer's chat
        await session.execute(
            text("UPDATE officers SET telegram_chat_id = :chat WHERE id = :id"),
            {"chat": ATTACKER_CHAT, "id": world.north_officer},
        )
    # Control: a plain read cannot record what it found; read_or_write does, once.
    with pytest.raises(WriteInRead):
        async with database.read() as session:
            await _chat_of(world.north_officer, session)
    assert await _alerts(database) == 0
    assert await database.read_or_write(lookup) is None
    assert await _alerts(database) == 1
    assert await database.read_or_write(lookup) is None
    assert await _alerts(database) == 1  # already alerted: the next lookups stay reads


async def _add_school(database: Database, now: datetime) -> None:
    async with database.read() as session:
        session.add(School(name="Planted", code="PLT", active=True, created_at=now))
        await session.flush()


async def _rename_a_school(database: Database) -> None:
    async with database.read() as session:
        school = await session.scalar(select(School).limit(1))
        assert school is not None
        school.name = "Renamed"


async def _chat_of(officer_id: int, session: AsyncSession) -> int | None:
    return await officers.chat_of(session, officer_id)


async def _alerts(database: Database) -> int:
    async with database.read() as session:
        found = await session.scalar(
            select(func.count()).select_from(Alert).where(Alert.kind == AlertKind.DIRECTORY_FORGED)
        )
    return int(found or 0)


async def test_on_sqlite_a_read_goes_on_while_a_transaction_holds_the_writer(tmp_path: Path) -> None:
    database = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (n INTEGER)"))
        await session.execute(text("INSERT INTO t (n) VALUES (1), (2)"))
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO t (n) VALUES (3)"))
            holding.set()
            await release.wait()

    held = asyncio.create_task(writer())
    await holding.wait()
    other: asyncio.Task[int] | None = None
    try:
        # The read completes while the writer's transaction is open, and sees the data before it.
        async with database.read() as session:
            assert list(await session.scalars(text("SELECT n FROM t ORDER BY n"))) == [1, 2]
        assert not held.done()
        # Control: a transaction waits for its turn at the writer until the holder ends.
        other = asyncio.create_task(_count_in_transaction(database))
        await asyncio.sleep(0.2)
        assert not other.done()
    finally:
        release.set()
        await held
        if other is not None:
            assert await other == 3
        await database.close()


async def _count_in_transaction(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(text("SELECT count(*) FROM t")) or 0)
