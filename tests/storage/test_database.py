"""The engine wrapper: SQLite's PRAGMAs, one transaction per block, aware UTC timestamps everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from storage.db import Database, UnsupportedDatabase, check_url
from storage.models import AuditEvent
from tests.storage.fixtures import DatabaseUnderTest


async def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(
    database: Database, test_database: DatabaseUnderTest
) -> None:
    if test_database.backend != "sqlite":
        assert database.dialect == "postgresql"
        return
    async with database.transaction() as session:
        pragmas = [
            (await session.execute(text(f"PRAGMA {p}"))).scalar_one()
            for p in ("journal_mode", "foreign_keys", "busy_timeout")
        ]
    assert pragmas == ["wal", 1, 10_000]


async def test_a_failed_block_rolls_back(database: Database) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)

    async def fail_midway() -> None:
        async with database.transaction() as session:
            session.add(AuditEvent(at=at, actor="admin", action="test.rolled_back"))
            await session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    async with database.transaction() as session:
        assert (await session.execute(text("SELECT count(*) FROM audit_events"))).scalar_one() == 0


async def test_timestamps_come_back_aware_and_in_utc(database: Database) -> None:
    toronto = timezone(timedelta(hours=-5))
    at = datetime(2026, 3, 8, 1, 59, 59, 123456, tzinfo=toronto)
    async with database.transaction() as session:
        session.add(AuditEvent(at=at, actor="admin", action="test.time"))
    async with database.transaction() as session:
        stored = (await session.execute(text("SELECT id FROM audit_events"))).scalar_one()
        event = await session.get(AuditEvent, stored)
        assert event is not None
        assert event.at == at
        assert event.at.tzinfo is not None
        assert event.at.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive datetime"):
        async with database.transaction() as session:
            session.add(AuditEvent(at=datetime(2026, 1, 1), actor="admin", action="naive"))  # noqa: DTZ001


def test_only_the_two_supported_drivers() -> None:
    assert check_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite"
    with pytest.raises(UnsupportedDatabase, match="unsupported database driver"):
        check_url("mysql+aiomysql://u@h/db")
