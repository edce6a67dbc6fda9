"""The audit trail: one case's timeline on request (the look audited), counts otherwise, gone at the purge.

`sro` runs through its real entry point (typer's CliRunner) against the same
database the domain API filled, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select, text
from typer.testing import CliRunner, Result

from admin.cli import app
from casework import audit
from casework.cases import lifecycle
from casework.delivery import escalation
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import AuditEvent, Outcome
from tests.casework.world import World, build_world, officer_reply, open_report
from tests.storage.fixtures import DatabaseUnderTest

Sro = Callable[..., Awaitable[Result]]
SECRET = "the blue locker behind the gym"
REPLY = "Thanks, I will look at the stairwell today"


@pytest.fixture
def sro(test_database: DatabaseUnderTest, master: MasterKey, monkeypatch: pytest.MonkeyPatch) -> Sro:
    """`sro` on the test's database, with the master key the domain fixtures used."""
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", master.encoded())
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    runner = CliRunner()

    async def invoke(*args: str) -> Result:
        # `sro` runs its own event loop, so it gets a thread of its own.
        result = await asyncio.to_thread(runner.invoke, app, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    return invoke


async def _worked_case(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime, world: World
) -> int:
    """An urgent report that an officer reads, acknowledges, answers, escalates and closes."""
    opened = await open_report(database, keys, policy, now, world.north, SECRET, urgent=True)
    steps = iter(range(1, 100))

    def later() -> datetime:
        return now + timedelta(minutes=next(steps))

    async with database.transaction() as session:
        await audit.case_read(session, opened.case_id, world.north_officer, later())
        await lifecycle.acknowledge(session, policy, opened.case_id, world.north_officer, later())
    await officer_reply(database, keys, policy, later(), opened.case_id, world.north_officer, REPLY)
    async with database.transaction() as session:
        await escalation.escalate_now(session, policy, opened.case_id, world.north_officer, later())
    async with database.transaction() as session:
        await lifecycle.close(session, policy, opened.case_id, world.north_officer, Outcome.RESOLVED, later())
    return opened.case_id


async def _rows_of(database: Database, case_id: int) -> int:
    async with database.transaction() as session:
        count = await session.scalar(select(func.count()).where(AuditEvent.case_id == case_id))
    return int(count or 0)


async def test_a_timeline_on_request_then_nothing_of_the_purged_case(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime, sro: Sro
) -> None:
    world = await build_world(database, keys, policy, now)
    purged = await _worked_case(database, keys, policy, now, world)
    kept = (await open_report(database, keys, policy, now, world.south, "still open")).case_id

    # Positive control: before the purge, the case's timeline is there, with the officer's name.
    rows_before = await _rows_of(database, purged)
    shown = (await sro("audit", "--case", str(purged))).output
    for action in ("case.read", "case.acknowledged", "case.message", "case.escalated", "case.closed"):
        assert action in shown, action
    assert "north_officer" in shown
    assert "audit.timeline_viewed" in shown  # the look itself is on the timeline
    assert await _rows_of(database, purged) == rows_before + 1  # viewing added exactly one row
    by_reference = (await sro("audit", "--case", "nth-1")).output  # as officers name it
    assert "case.closed" in by_reference
    assert await _rows_of(database, purged) == rows_before + 2
    counts_before = (await sro("audit")).output
    assert "case.closed" in counts_before

    # Counts only without --case: no officer, no case, no time finer than the period.
    for leak in ("north_officer", "officer:", "2026-03-10"):
        assert leak not in counts_before, leak
    assert "2026-03" in counts_before

    assert "Purged 1" in (await sro("purge")).output
    assert await _rows_of(database, purged) == 0
    assert "No audit events" in (await sro("audit", "--case", str(purged))).output
    assert "No audit events" in (await sro("audit", "--case", "NTH-1")).output
    after = (await sro("audit")).output
    assert "case.closed" not in after  # the purged case was the only closed one
    assert "case.read" not in after
    assert "cases.purged" in after
    async with database.transaction() as session:
        purge_rows = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "cases.purged"))
        )
        assert [(e.case_id, e.detail) for e in purge_rows] == [(None, "count 1")]
        assert await session.scalar(select(func.count()).where(AuditEvent.case_id == purged)) == 0
    # The program's own events are listed (who added which officer), never a case's.
    program = (await sro("audit", "--program")).output
    assert "officer.created" in program
    assert "cases.purged" in program
    for action in ("case.opened", "case.read", "case.closed"):
        assert action not in program, action
    # The other case keeps its timeline.
    assert await _rows_of(database, kept) > 0
    assert "case.opened" in (await sro("audit", "--case", str(kept))).output


FORBIDDEN_COLUMNS = {"intent", "urgent", "urgency", "kind", "text", "body", "content", "ciphertext"}


async def test_audit_rows_carry_no_intent_urgency_or_content(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    await _worked_case(database, keys, policy, now, world)

    def columns(connection: object, table: str) -> set[str]:
        return {c["name"] for c in inspect(connection).get_columns(table)}

    async with database.transaction() as session:
        connection = await session.connection()
        audit_columns = await connection.run_sync(lambda sync: columns(sync, "audit_events"))
        case_columns = await connection.run_sync(lambda sync: columns(sync, "cases"))
        audit_dump = repr((await session.execute(text("SELECT * FROM audit_events"))).all())
        case_dump = repr((await session.execute(text("SELECT * FROM cases"))).all())
    assert audit_columns == {"id", "at", "actor", "action", "case_id", "detail"}
    assert not audit_columns & FORBIDDEN_COLUMNS
    assert {"intent", "urgent"} <= case_columns  # positive control: the check sees such columns
    for word in ("report_weapon", "urgent", "report", SECRET, REPLY, "stairwell", "locker"):
        assert word not in audit_dump, word
    assert "report_weapon" in case_dump  # positive control: the dump would show an intent
