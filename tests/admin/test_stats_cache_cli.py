"""`sro stats` through its real entry point fills the cache of protected months, then reads it back."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from admin.cli import app
from casework import schools
from casework.schools import NewSchool
from casework.stats import recording
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import ProtectedMonth
from tests.storage.fixtures import DatabaseUnderTest


async def _load(url: str) -> None:
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            school = await schools.add_school(
                session, NewSchool.checked("Cache school", "CCH"), datetime.now(UTC)
            )
            day = date(2025, 5, 1)
            while day < date(2025, 6, 1):
                for n in range(day.day % 4 + (6 if day.weekday() == 0 else 0)):
                    await recording.record(
                        session,
                        school_id=school.id,
                        intent="greet",
                        urgent=n == 0 and day.day % 3 == 0,
                        day=day,
                    )
                day += timedelta(days=1)
    finally:
        await db.close()


async def _cached_rows(url: str) -> int:
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(ProtectedMonth))).scalar_one())
    finally:
        await db.close()


def test_the_second_run_reads_the_cache(
    test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_load(test_database.url))
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())
    runner = CliRunner()
    args = ["stats", "--from", "2025-05-01", "--to", "2025-05-31", "--by", "day", "--format", "json"]
    assert asyncio.run(_cached_rows(test_database.url)) == 0
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert asyncio.run(_cached_rows(test_database.url)) == 1  # one school, one month
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert json.loads(second.output) == json.loads(first.output)
    values = {cell["value"] for cell in json.loads(first.output)["counts"]}
    assert "<5" in values
    assert any(isinstance(v, int) and v >= 5 for v in values)
