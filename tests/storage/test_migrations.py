"""Alembic is the only way the schema is made: upgrade from empty, downgrade to base, no drift."""

from __future__ import annotations

import warnings
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import SAWarning

from casework.stats import recording
from storage import migrations
from storage.db import Database, create_engine
from storage.models import Base, IntentStat
from tests.storage.fixtures import table_names


async def test_upgrade_from_empty_then_downgrade_to_base(empty_url: str) -> None:
    assert await migrations.current_revision(empty_url) is None
    await migrations.upgrade(empty_url)
    assert await migrations.current_revision(empty_url) == migrations.head_revision()
    assert {t.name for t in Base.metadata.sorted_tables} <= await table_names(empty_url)
    await migrations.upgrade(empty_url)  # idempotent
    await migrations.downgrade(empty_url, "base")
    assert await migrations.current_revision(empty_url) is None
    assert await table_names(empty_url) <= {"alembic_version"}
    await migrations.upgrade(empty_url)  # and back up again
    assert await migrations.current_revision(empty_url) == migrations.head_revision()


async def test_models_match_the_migrated_schema(empty_url: str) -> None:
    await migrations.upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as connection:
            with warnings.catch_warnings():
                # SQLite cannot reflect expression indexes; the next test checks that one by behaviour.
                warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
                warnings.filterwarnings("ignore", "autogenerate skipping", UserWarning)
                differences = await connection.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                    )
                )
    finally:
        await engine.dispose()
    differences = [d for d in differences if "uq_intent_stats_cell" not in repr(d)]
    assert differences == []


async def test_statistics_cells_are_unique_even_without_a_school(empty_url: str) -> None:
    await migrations.upgrade(empty_url)
    db = Database.connect(empty_url)
    try:
        for _ in range(3):
            async with db.transaction() as session:
                await recording.record(
                    session, school_id=None, intent="report_fight", urgent=False, day=date(2026, 3, 2)
                )
        async with db.transaction() as session:
            rows = (await session.execute(select(IntentStat.school_id, IntentStat.count))).all()
            assert [tuple(r) for r in rows] == [(None, 3)]
            with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
                await session.execute(
                    text(
                        "INSERT INTO intent_stats (school_id, intent, day, urgent, count) "
                        "VALUES (NULL, 'report_fight', '2026-03-02', false, 1)"
                    )
                )
    finally:
        await db.close()
