"""Who can read a case: its own school's officers and supervisors, the student with the code; nobody else."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from casework import audit, crockford, officers
from casework.cases import intake, lifecycle, reading
from casework.delivery import alerts, routing
from casework.errors import AccessDenied, CaseClosed, NoRecipients, UnknownCaseCode
from casework.policy import CasePolicy
from casework.vault import access
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import (
    AlertKind,
    AssignmentKind,
    CaseMessage,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Direction,
    KeyEnvelope,
    Outcome,
    Role,
)
from tests.casework.world import build_world, officer_reply, open_report


async def test_officer_reads_own_school_and_not_another(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "Someone keeps a knife in locker 12")
    async with database.transaction() as session:
        thread = await reading.read_case_as_officer(session, keys, opened.case_id, world.north_officer)
        assert thread.messages[0].body["text"] == "Someone keeps a knife in locker 12"  # positive control
        backup = await reading.read_case_as_officer(session, keys, opened.case_id, world.north_backup)
        boss = await reading.read_case_as_officer(session, keys, opened.case_id, world.supervisor)
        assert backup.messages == thread.messages == boss.messages
        with pytest.raises(AccessDenied):
            await reading.read_case_as_officer(session, keys, opened.case_id, world.south_officer)
        with pytest.raises(AccessDenied):
            await reading.read_case_as_officer(session, keys, opened.case_id + 1000, world.north_officer)
        listed = await reading.list_officer_cases(session, world.south_officer)
        assert [c.case_id for c in listed] == []
        assert [c.case_id for c in await reading.list_officer_cases(session, world.north_officer)] == [
            opened.case_id
        ]


async def test_student_rereads_with_the_code_in_any_typing(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "They sell vapes behind the gym")
    await officer_reply(
        database,
        keys,
        policy,
        now + timedelta(minutes=3),
        opened.case_id,
        world.north_officer,
        "Thanks, we are on it",
    )
    typed = opened.code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    async with database.transaction() as session:
        view = await reading.read_case_as_student(session, keys, typed)
        assert [m.body["text"] for m in view.messages] == [
            "They sell vapes behind the gym",
            "Thanks, we are on it",
        ]
        assert all(m.author_officer_id is None for m in view.messages)  # no officer identities
        assert view.status == "acknowledged"  # the reply acknowledged it
        # A check character neither check accepts: one the old mod-37 check accepts still opens
        # the case (codes issued before it changed), which is no typo.
        data = opened.code.replace("-", "")[:-1]
        accepted = {crockford.check_character(data), crockford.legacy_check_character(crockford.decode(data))}
        other = opened.code[:-1] + next(c for c in crockford.ALPHABET if c not in accepted)
        with pytest.raises(Exception, match=r"typo|characters"):
            await reading.read_case_as_student(session, keys, other)


async def test_unknown_but_well_formed_code(database: Database, keys: KeyRing) -> None:
    from casework.cases.codes import CaseCode

    async with database.transaction() as session:
        with pytest.raises(UnknownCaseCode):
            await reading.read_case_as_student(session, keys, CaseCode.new().display())


async def test_newly_assigned_officer_sees_old_cases_only_after_audited_reseal(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    old = await open_report(database, keys, policy, now, world.north, "An older report about the bus stop")
    later = now + timedelta(hours=1)
    async with database.transaction() as session:
        newcomer = await officers.create_officer(
            session, keys, display_name="New Cst.", role=Role.OFFICER, now=later
        )
        await officers.assign(session, keys, newcomer, "NTH", kind=AssignmentKind.BACKUP, now=later)
    new = await open_report(database, keys, policy, later, world.north, "A new report after the assignment")
    async with database.transaction() as session:
        assert (await reading.read_case_as_officer(session, keys, new.case_id, newcomer)).messages
        with pytest.raises(AccessDenied):
            await reading.read_case_as_officer(session, keys, old.case_id, newcomer)
        assert await alerts.list_alerts(session, kind=AlertKind.READER_ADDED) == []  # control: no history
    async with database.transaction() as session:  # sro officer assign --with-history
        resealed = await officers.assign(
            session, keys, newcomer, "NTH", kind=AssignmentKind.BACKUP, now=later, with_history=True
        )
    assert resealed == 1  # the old case; the new one was sealed for them already
    async with database.transaction() as session:  # announced to the supervisors, once
        announced = await alerts.list_alerts(session, kind=AlertKind.READER_ADDED)
        assert [(a.officer_id, a.case_id) for a in announced] == [(newcomer, None)]
        notices = await session.scalars(select(Delivery).where(Delivery.alert_id == announced[0].id))
        supervisors = await routing.receivers_at(session, None, routing.SUPERVISORS, later)
        assert supervisors
        assert sorted(d.officer_id or 0 for d in notices) == sorted(supervisors)
    async with database.transaction() as session:
        thread = await reading.read_case_as_officer(session, keys, old.case_id, newcomer)
        assert thread.messages[0].body["text"] == "An older report about the bus stop"
        events = await audit.list_events(session, case_id=old.case_id)
    resealed_events = [e for e in events if e.action == "case.resealed"]
    assert len(resealed_events) == 1
    assert resealed_events[0].actor == "admin"
    assert f"officer {newcomer}" in (resealed_events[0].detail or "")


async def test_unassigned_and_deactivated_officers_lose_access(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "Graffiti with a threat in it")
    async with database.transaction() as session:
        assert await officers.unassign(session, world.north_backup, "NTH", now) == 1
        assert await officers.deactivate_officer(session, world.north_officer, now) == 1
    async with database.transaction() as session:
        for officer_id in (world.north_backup, world.north_officer):
            with pytest.raises(AccessDenied):
                await reading.read_case_as_officer(session, keys, opened.case_id, officer_id)
        assert (await reading.read_case_as_officer(session, keys, opened.case_id, world.supervisor)).messages


async def test_grant_access_needs_no_server_secret_but_a_recipient_key(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "Report to share")
    async with database.transaction() as session:
        assert await access.grant_access(
            session, keys, opened.case_id, world.south_officer, actor="admin", now=now
        )
        assert not await access.grant_access(
            session, keys, opened.case_id, world.south_officer, actor="admin", now=now
        )
    async with database.transaction() as session:
        thread = await reading.read_case_as_officer(session, keys, opened.case_id, world.south_officer)
    assert thread.messages[0].body["text"] == "Report to share"


async def test_no_one_to_read_it_means_not_stored(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    from casework import schools
    from casework.schools import NewSchool

    async with database.transaction() as session:
        school = await schools.add_school(session, NewSchool.checked("Empty School", "EMP"), now)
    with pytest.raises(NoRecipients):
        await open_report(database, keys, policy, now, school.id, "nobody can read this")


async def test_tip_waits_for_the_first_officer_who_enrolls(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now, enroll=False)
    opened = await open_report(database, keys, policy, now, world.south, "Waiting for someone", urgent=True)
    assert not opened.delivered
    async with database.transaction() as session:
        waiting = list(await session.scalars(select(Delivery).where(Delivery.case_id == opened.case_id)))
        assert [(d.status, d.officer_id) for d in waiting] == [(DeliveryStatus.WAITING, None)]
        code = await officers.issue_enrollment_code(session, keys, world.south_officer, now)
    async with database.transaction() as session:
        await officers.enroll(session, keys, policy, code, 777_000_001, now + timedelta(hours=2))
    async with database.transaction() as session:
        rows = list(await session.scalars(select(Delivery).where(Delivery.case_id == opened.case_id)))
    assert [(d.kind, d.status, d.officer_id) for d in rows] == [
        (DeliveryKind.TIP, DeliveryStatus.PENDING, world.south_officer)
    ]


async def test_close_forgets_the_address_and_purge_deletes_everything_with_its_audit(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(
        database, keys, policy, now, world.north, "Close me", notify_chat_id=55_123_456
    )
    async with database.transaction() as session:
        assert await intake.notify_address(session, keys, opened.case_id) == 55_123_456
        purge_at = await lifecycle.close(
            session, policy, opened.case_id, world.north_officer, Outcome.RESOLVED, now
        )
        assert await intake.notify_address(session, keys, opened.case_id) is None
    assert purge_at == now + policy.retention
    async with database.transaction() as session:
        with pytest.raises(CaseClosed):
            await intake.add_message(
                session,
                keys,
                policy,
                opened.case_id,
                direction=Direction.STUDENT,
                body={"text": "more"},
                now=now,
            )
    async with database.transaction() as session:
        assert await lifecycle.purge_expired(session, purge_at - timedelta(seconds=1)) == 0
        assert await lifecycle.purge_expired(session, purge_at) == 1
    async with database.transaction() as session:
        for table in ("cases", "case_messages", "key_envelopes", "case_recipients", "outbox"):
            from sqlalchemy import text

            assert (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0, table  # noqa: S608
        assert await audit.list_events(session, case_id=opened.case_id) == []  # its audit rows went too
        left = [(e.action, e.case_id, e.detail) for e in await audit.list_events(session)]
    assert ("cases.purged", None, "count 1") in left  # only a count stays


async def test_a_tip_renders_the_case_first_message_and_only_for_its_readers(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """`first_message_as_officer` (a tip's rendering): the report itself, not a later message; an
    officer without an envelope for the report is denied, never shown a later message instead."""
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "Someone keeps a knife in locker 12")
    await officer_reply(
        database,
        keys,
        policy,
        now + timedelta(minutes=3),
        opened.case_id,
        world.north_officer,
        "Thanks, we are on it",
    )
    async with database.transaction() as session:
        first = await reading.first_message_as_officer(session, keys, opened.case_id, world.north_officer)
        assert (first.seq, first.body["text"]) == (1, "Someone keeps a knife in locker 12")
        with pytest.raises(AccessDenied):
            await reading.first_message_as_officer(session, keys, opened.case_id, world.south_officer)
        with pytest.raises(AccessDenied):
            await reading.first_message_as_officer(session, keys, opened.case_id + 1000, world.north_officer)
        report_id = await session.scalar(
            select(CaseMessage.id).where(CaseMessage.case_id == opened.case_id, CaseMessage.seq == 1)
        )
        await session.execute(
            delete(KeyEnvelope).where(
                KeyEnvelope.message_id == report_id, KeyEnvelope.officer_id == world.north_backup
            )
        )
    async with database.transaction() as session:
        reply_id = await session.scalar(
            select(CaseMessage.id).where(CaseMessage.case_id == opened.case_id, CaseMessage.seq == 2)
        )
        assert reply_id is not None
        later = await reading.read_message_as_officer(session, keys, reply_id, world.north_backup)
        assert later.body["text"] == "Thanks, we are on it"  # control: the reply is still shared with them
        with pytest.raises(AccessDenied):
            await reading.first_message_as_officer(session, keys, opened.case_id, world.north_backup)
