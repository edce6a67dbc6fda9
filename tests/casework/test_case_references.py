"""Case references per school (`NTH-2`): what a number reveals, how officers type them, and the migration."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError

from casework.cases import intake, reading, references
from casework.errors import AmbiguousReference, MalformedReference, UnknownReference
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage import migrations
from storage.db import Database
from storage.models import Case
from tests.casework.world import build_world, open_report


async def _reference(database: Database, case_id: int) -> str:
    async with database.transaction() as session:
        return (await reading.case_summary(session, case_id)).reference


async def test_references_count_per_school_not_program_wide(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = []
    for school in (world.north, world.south, world.north, world.north, world.south):
        opened.append(await open_report(database, keys, policy, now, school, "a report"))
    shown = [await _reference(database, o.case_id) for o in opened]
    assert shown == ["NTH-1", "STH-1", "NTH-2", "NTH-3", "STH-2"]
    # Positive control: the internal ids do count program-wide, which is what references hide.
    # South's second case is the program's fifth: its id says so, its reference does not.
    assert opened[4].case_id - opened[0].case_id == 4
    async with database.transaction() as session:
        listed = await reading.list_officer_cases(session, world.south_officer)
    assert [c.reference for c in listed] == ["STH-1", "STH-2"]


async def test_concurrent_cases_of_one_school_get_distinct_numbers(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await asyncio.gather(
        *(open_report(database, keys, policy, now, world.north, f"report {i}") for i in range(8))
    )
    shown = sorted([await _reference(database, o.case_id) for o in opened], key=lambda r: int(r[4:]))
    assert shown == [f"NTH-{n}" for n in range(1, 9)]
    # The database itself refuses a second case with the same reference (the detector works).
    with pytest.raises(IntegrityError):
        await _give_same_reference(database, opened[0].case_id, opened[1].case_id)


async def _give_same_reference(database: Database, case_id: int, like: int) -> None:
    async with database.transaction() as session:
        case, other = await session.get(Case, case_id), await session.get(Case, like)
        assert case is not None
        assert other is not None
        case.reference_number = other.reference_number
        await session.flush()


async def test_a_case_without_a_school_is_renumbered_under_its_school_and_numbers_are_never_reused(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    await open_report(database, keys, policy, now, world.north, "first north report")
    early = await open_report(database, keys, policy, now, None, "a gun, school not said yet", urgent=True)
    assert await _reference(database, early.case_id) == "U-1"  # supervisors see this one
    async with database.transaction() as session:
        await intake.assign_school(
            session, keys, policy, early.case_id, world.north, now + timedelta(seconds=30)
        )
    assert await _reference(database, early.case_id) == "NTH-2"
    # The school's officer finds it under the school's reference, and nothing else reveals "U-1".
    async with database.transaction() as session:
        assert await references.resolve(session, world.north_officer, "NTH-2") == early.case_id
        with pytest.raises(UnknownReference):
            await references.resolve(session, world.north_officer, "U-1")
    later = await open_report(database, keys, policy, now, None, "another, no school", urgent=True)
    assert await _reference(database, later.case_id) == "U-2"
    # A purge deletes the newest case; its number is not given again.
    async with database.transaction() as session:
        await session.execute(delete(Case).where(Case.id == early.case_id))
    again = await open_report(database, keys, policy, now, world.north, "after the purge")
    assert await _reference(database, again.case_id) == "NTH-3"


async def test_officers_type_references_in_any_form_and_only_their_own_cases_resolve(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    north_1 = (await open_report(database, keys, policy, now, world.north, "n1")).case_id
    north_2 = (await open_report(database, keys, policy, now, world.north, "n2")).case_id
    south_1 = (await open_report(database, keys, policy, now, world.south, "s1")).case_id
    async with database.transaction() as session:
        for typed in ("NTH-2", "nth-2", "nth2", "#NTH 2", "Nth-02", " nth - 2 "):
            assert await references.resolve(session, world.north_officer, typed) == north_2, typed
        # A bare number works where it is unique among the officer's cases...
        assert await references.resolve(session, world.north_officer, "1") == north_1
        assert await references.resolve(session, world.south_officer, "#1") == south_1
        # ...and a supervisor, who has both schools' cases, is asked which one.
        with pytest.raises(AmbiguousReference) as ambiguous:
            await references.resolve(session, world.supervisor, "1")
        assert ambiguous.value.references == ["NTH-1", "STH-1"]
        assert await references.resolve(session, world.supervisor, "sth1") == south_1
        # Another school's case is unknown to this officer, exactly like one that does not exist;
        # the positive control is the supervisor resolving the same reference just above.
        for typed in ("STH-1", "NTH-9", "9", "12345678901"):
            with pytest.raises(UnknownReference):
                await references.resolve(session, world.north_officer, typed)
        for typed in ("hello", "NTH-", "-", "NTH-2-3", "#"):
            with pytest.raises(MalformedReference):
                await references.resolve(session, world.north_officer, typed)
        assert await references.reference_for_officer(session, south_1, world.north_officer) is None
        assert await references.reference_for_officer(session, south_1, world.south_officer) == "STH-1"


def test_a_reference_typed_without_its_hyphen_tries_every_split() -> None:
    # School codes may end in digits, so `S123` could be S-123 (not a code), S1-23 or S12-3.
    assert references.candidates("s123") == ([("S", 123), ("S1", 23), ("S12", 3)], None)
    assert references.candidates("S12-3") == ([("S12", 3)], None)
    assert references.candidates("  #42 ") == ([], 42)


async def test_the_migration_numbers_existing_cases_per_school_by_id(empty_url: str) -> None:
    url = empty_url
    await migrations.upgrade(url, "0004")
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO schools (id, name, code, active, created_at) VALUES"
                    " (1, 'North', 'NTH', true, '2026-09-01 00:00:00'),"
                    " (2, 'South', 'STH', true, '2026-09-01 00:00:00')"
                )
            )
            for case_id, school in ((1, 1), (2, 2), (3, None), (4, 1), (5, 2), (6, 1)):
                await session.execute(
                    text(
                        "INSERT INTO cases (id, school_id, kind, intent, urgent, status, created_at,"
                        " code_hash, student_key_salt, student_public_key, escalation_level, message_count,"
                        " nobody_reached)"
                        " VALUES (:id, :school, 'report', 'report_weapon', false, 'new',"
                        " '2026-09-02 00:00:00', :hash, :salt, :key, 0, 0, false)"
                    ),
                    {
                        "id": case_id,
                        "school": school,
                        "hash": bytes([case_id]) * 32,
                        "salt": b"s" * 16,
                        "key": b"k" * 32,
                    },
                )
    finally:
        await db.close()
    await migrations.upgrade(url)
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(Case.id, Case.reference_prefix, Case.reference_number).order_by(Case.id)
                )
            ).all()
            assert [tuple(r) for r in rows] == [
                (1, "NTH", 1), (2, "STH", 1), (3, "U", 1), (4, "NTH", 2), (5, "STH", 2), (6, "NTH", 3),
            ]  # fmt: skip
            # New cases continue each school's sequence.
            assert await references.next_number(session, "NTH") == 4
            assert await references.next_number(session, "U") == 2
            assert await references.next_number(session, "NEW1") == 1
    finally:
        await db.close()
