"""Cases opened together (`intake.open_cases`, `intake_batch.CaseBatcher`): the same rows as one by one,
distinct references under concurrency, one send key one case, a failing case loses none of the others,
and every caller is answered only once its case is committed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from casework import officers, schools
from casework.cases import intake, intake_batch, reading
from casework.cases.codes import CaseCode
from casework.cases.intake import NewCase, OpenedCase
from casework.errors import InactiveSchool
from casework.policy import CasePolicy
from casework.schools import NewSchool, remove_school
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import (
    AssignmentKind,
    AuditEvent,
    Case,
    CaseKind,
    CaseMessage,
    CaseRecipient,
    Delivery,
    KeyEnvelope,
    Officer,
    Role,
    School,
)
from tests.casework.world import World, build_world


def new_case(world: World, now: datetime, n: int, **changes: object) -> NewCase:
    fields: dict[str, object] = {
        "school_id": (world.north, world.south, None)[n % 3],
        "kind": CaseKind.REPORT,
        "intent": "report_weapon" if n % 2 else "report_bullying",
        "urgent": n % 2 == 1,
        "body": {"text": f"report number {n}", "where": "the east stairwell"},
        "now": now,
        "notify_chat_id": 5_000_000 + n if n % 4 == 0 else None,
        "hold": timedelta(minutes=3) if n % 3 == 2 else None,
        "code": CaseCode.new(),
        "send_key": f"send-{n}",
    }
    fields.update(changes)
    return NewCase(**fields)  # type: ignore[arg-type]


async def snapshot(session: AsyncSession, case_id: int) -> tuple[object, ...]:
    """What a case's rows say, without ids, keys or random bytes: the same case opened either way."""
    case = await session.get(Case, case_id)
    assert case is not None
    recipients = sorted(
        (r.officer_id, r.granted_by, r.mac is not None)
        for r in await session.scalars(select(CaseRecipient).where(CaseRecipient.case_id == case_id))
    )
    deliveries = sorted(
        (d.kind, d.officer_id, d.status, d.next_attempt_at, d.priority, d.attempts, d.message_id is not None)
        for d in await session.scalars(select(Delivery).where(Delivery.case_id == case_id))
    )
    envelopes = sorted(
        (e.recipient_kind, e.officer_id)
        for e in await session.scalars(
            select(KeyEnvelope)
            .join(CaseMessage, CaseMessage.id == KeyEnvelope.message_id)
            .where(CaseMessage.case_id == case_id)
        )
    )
    audit = [
        (e.actor, e.action, e.detail)
        for e in await session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id))
    ]
    return (
        case.school_id, case.kind, case.intent, case.urgent, case.status, case.escalation_level,
        case.next_escalation_at, case.message_count, case.reference_prefix,
        case.notify_address_sealed is not None, case.label_sealed is not None,
        recipients, deliveries, envelopes, audit,
    )  # fmt: skip


async def test_a_batch_stores_what_one_case_after_another_stores(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    cases = [new_case(world, now, n) for n in range(7)]
    async with database.transaction() as session:
        together = await intake.open_cases(session, keys, policy, cases)
    # The same cases again, one by one, in a second program of the same shape: the same rows.
    other = await _second_world(database, keys, policy, now)
    alone = []
    for n in range(7):
        again = new_case(other, now, n, send_key=f"alone-{n}", code=CaseCode.new())
        async with database.transaction() as session:
            alone.append(await intake.open_case(session, keys, policy, **_arguments(again)))
    async with database.read() as session:
        first = [await snapshot(session, c.case_id) for c in together]
        second = [await snapshot(session, c.case_id) for c in alone]
    shift = {world.north: other.north, world.south: other.south, None: None}
    ids = dict(zip(_officers(world), _officers(other), strict=True))
    for mine, theirs in zip(first, second, strict=True):
        assert _renamed(mine, shift, ids) == theirs
    assert [c.delivered for c in together] == [c.delivered for c in alone]
    # Each opens for its student and its officers, with its own words.
    async with database.read() as session:
        for n, (opened, case) in enumerate(zip(together, cases, strict=True)):
            assert case.code is not None
            view = await reading.read_case_as_student(session, keys, case.code.display())
            assert view.case_id == opened.case_id
            assert view.messages[0].body == case.body
            assert view.label == opened.label
            officer = world.north_officer if case.school_id == world.north else world.supervisor
            thread = await reading.read_case_as_officer(session, keys, opened.case_id, officer)
            assert thread.messages[0].body["text"] == f"report number {n}"
            assert await intake.notify_address(session, keys, opened.case_id) == case.notify_chat_id


def _arguments(case: NewCase) -> dict[str, Any]:
    return {
        "school_id": case.school_id, "kind": case.kind, "intent": case.intent, "urgent": case.urgent,
        "body": case.body, "notify_chat_id": case.notify_chat_id, "now": case.now, "hold": case.hold,
        "code": case.code, "send_key": case.send_key,
    }  # fmt: skip


def _officers(world: World) -> list[int]:
    return [world.north_officer, world.north_backup, world.south_officer, world.supervisor]


async def _second_world(database: Database, keys: KeyRing, policy: CasePolicy, now: datetime) -> World:
    """Two more schools with their officers; the first world's supervisor stays the only supervisor."""

    async with database.transaction() as session:
        north = await schools.add_school(session, NewSchool.checked("North Two", "NTW"), now)
        south = await schools.add_school(session, NewSchool.checked("South Two", "STW"), now)
        ids = {}
        for name, school, kind in (
            ("north_officer", "NTW", AssignmentKind.PRIMARY),
            ("north_backup", "NTW", AssignmentKind.BACKUP),
            ("south_officer", "STW", AssignmentKind.PRIMARY),
        ):
            ids[name] = await officers.create_officer(
                session, keys, display_name=name, role=Role.OFFICER, now=now
            )
            await officers.assign(session, keys, ids[name], school, kind=kind, now=now)
        codes = {name: await officers.issue_enrollment_code(session, keys, i, now) for name, i in ids.items()}
    for chat, name in enumerate(ids, start=9_100_001):
        async with database.transaction() as session:
            await officers.enroll(session, keys, policy, codes[name], chat, now)
    async with database.read() as session:
        first_supervisor = await _only_supervisor(session)
    return World(north.id, south.id, supervisor=first_supervisor, **ids)


async def _only_supervisor(session: AsyncSession) -> int:
    (only,) = (await session.scalars(select(Officer.id).where(Officer.role == Role.SUPERVISOR))).all()
    return int(only)


def _renamed(
    row: tuple[object, ...], schools: dict[int | None, int | None], ids: dict[int, int]
) -> tuple[object, ...]:
    """A snapshot of the first world's case as the second world's would read (its ids and prefixes)."""
    prefixes = {"NTH": "NTW", "STH": "STW", "U": "U"}
    values = list(row)
    values[0] = schools[row[0]]  # type: ignore[index]
    values[8] = prefixes[str(row[8])]
    values[11] = sorted((ids.get(o, o), g, m) for o, g, m in row[11])  # type: ignore[attr-defined]
    values[12] = sorted((k, ids.get(o, o) if o else o, *rest) for k, o, *rest in row[12])  # type: ignore[attr-defined]
    values[13] = sorted((k, ids.get(o, o) if o else o) for k, o in row[13])  # type: ignore[attr-defined]
    return tuple(values)


async def test_concurrent_creators_get_distinct_consecutive_references(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    batcher = intake_batch.CaseBatcher(database, keys, policy, max_batch=8)
    opened = await asyncio.gather(*(batcher.open(new_case(world, now, n)) for n in range(30)))
    async with database.read() as session:
        rows = (await session.execute(select(Case.reference_prefix, Case.reference_number))).all()
        assert await session.scalar(select(func.count()).select_from(Case)) == 30
    assert len({o.case_id for o in opened}) == 30
    by_prefix: dict[str, list[int]] = {}
    for prefix, number in rows:
        by_prefix.setdefault(prefix, []).append(number)
    assert {p: sorted(n) for p, n in by_prefix.items()} == {
        p: list(range(1, 11)) for p in ("NTH", "STH", "U")
    }


async def test_creators_who_open_case_after_case_are_all_answered(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """Each creator asks again the moment it is answered, as students do under a burst: the next
    batch must start although the worker that answered them has just found nothing queued."""
    world = await build_world(database, keys, policy, now)
    batcher = intake_batch.CaseBatcher(database, keys, policy)
    numbers = iter(range(24))
    opened: list[OpenedCase] = []

    async def creator() -> None:
        for n in numbers:
            opened.append(await batcher.open(new_case(world, now, n)))

    # A guard, not a measurement: a batcher that leaves cases queued would hang here forever.
    async with asyncio.timeout(120):
        await asyncio.gather(*(creator() for _ in range(6)))
    assert len({o.case_id for o in opened}) == 24


async def test_one_send_key_opens_one_case_even_twice_in_one_batch(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    batcher = intake_batch.CaseBatcher(database, keys, policy)
    already = await batcher.open(new_case(world, now, 0, send_key="pressed-before"))
    together = [new_case(world, now, n) for n in range(1, 6)]
    together[1] = new_case(world, now, 2, send_key="pressed-twice")
    together[3] = new_case(world, now, 4, send_key="pressed-twice")
    together.append(new_case(world, now, 6, send_key="pressed-before"))
    answers = await asyncio.gather(*(batcher.open(c) for c in together), return_exceptions=True)
    refused = [i for i, a in enumerate(answers) if isinstance(a, IntegrityError)]
    assert refused == [3, 5]  # the second press of each key; the first of "pressed-twice" went through
    opened = [a for a in answers if isinstance(a, OpenedCase)]
    assert len(opened) == 4
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 5
        assert await intake.case_for_send_key(session, keys, "pressed-before") == already.case_id
        assert await intake.case_for_send_key(session, keys, "pressed-twice") == opened[1].case_id
        for case in opened:  # every one stored whole: its tip queued
            tips = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.case_id == case.case_id)
            )
            assert tips


async def test_a_failure_in_a_batch_loses_none_of_the_others(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build_world(database, keys, policy, now)
    sizes: list[int] = []
    real = intake.open_cases

    async def counted(
        session: AsyncSession, k: KeyRing, p: CasePolicy, cases: list[NewCase]
    ) -> list[OpenedCase]:
        sizes.append(len(cases))
        return await real(session, k, p, cases)

    monkeypatch.setattr(intake, "open_cases", counted)
    async with database.transaction() as session:
        await remove_school(session, "STH", now)  # its students' reports are refused (InactiveSchool)
    failed_hook: list[int] = []

    async def fails(session: AsyncSession, case: OpenedCase) -> None:
        failed_hook.append(case.case_id)
        raise RuntimeError("the evidence could not be stored")

    async def stores(session: AsyncSession, case: OpenedCase) -> None:
        session.add(AuditEvent(at=now, actor="student", action="case.evidence", case_id=case.case_id))

    batcher = intake_batch.CaseBatcher(database, keys, policy)
    cases = [new_case(world, now, n, school_id=world.south if n == 2 else world.north) for n in range(6)]
    hooks = {4: fails, 5: stores}
    calls = [batcher.open(c, then=hooks.get(n)) for n, c in enumerate(cases)]
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert sizes[0] == 6  # they were tried together, then each alone
    assert isinstance(answers[2], InactiveSchool)
    assert isinstance(answers[4], RuntimeError)
    good = [a for i, a in enumerate(answers) if i not in (2, 4)]
    assert all(isinstance(a, OpenedCase) for a in good)
    async with database.read() as session:
        stored = set((await session.scalars(select(Case.id))).all())
        assert stored == {a.case_id for a in good if isinstance(a, OpenedCase)}
        assert len(stored) == 4  # the refused two are not stored (their ids may be reused: rolled back)
        evidence = (
            await session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "case.evidence"))
        ).all()
        assert evidence == [answers[5].case_id]  # type: ignore[union-attr]
        numbers = sorted((await session.scalars(select(Case.reference_number))).all())
        assert numbers == [1, 2, 3, 4]  # nothing of the failed batch took a number


async def test_a_caller_is_answered_only_once_its_case_is_committed(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    batcher = intake_batch.CaseBatcher(database, keys, policy)
    seen: list[bool] = []

    async def student(n: int) -> None:
        opened = await batcher.open(new_case(world, now, n))
        # Another connection sees it the moment the caller hears "sent".
        async with database.read() as session:
            seen.append(await session.get(Case, opened.case_id, populate_existing=True) is not None)

    await asyncio.gather(*(student(n) for n in range(12)))
    assert seen == [True] * 12


async def test_an_inactive_school_is_refused_alone(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    async with database.transaction() as session:
        await remove_school(session, "STH", now)
        school = await session.get(School, world.south)
        assert school is not None
        assert not school.active
    with pytest.raises(InactiveSchool):
        async with database.transaction() as session:
            await intake.open_cases(
                session,
                keys,
                policy,
                [new_case(world, now, 0), new_case(world, now, 1, school_id=world.south)],
            )
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 0
