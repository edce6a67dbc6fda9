"""Closing with a last message, reopening, and the notice to officers a case went past (issue 9)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from casework import audit
from casework.cases import intake, lifecycle, reading
from casework.delivery import escalation, failures, outbox
from casework.errors import CaseClosed, InvalidTransition
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Case, CaseStatus, Delivery, DeliveryKind, DeliveryStatus, Direction, Outcome
from tests.casework.world import build_world, open_report

STUDENT_CHAT = 555_000_111


async def _address(database: Database, keys: KeyRing, case_id: int) -> int | None:
    async with database.transaction() as session:
        return await intake.notify_address(session, keys, case_id)


async def test_a_last_message_is_sealed_and_notified_before_the_address_goes(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "tip", notify_chat_id=STUDENT_CHAT)
    async with database.transaction() as session:
        await lifecycle.close(
            session, policy, opened.case_id, world.north_officer, Outcome.RESOLVED, now,
            last_message="Thank you. The staff dealt with it.", keys=keys,
        )  # fmt: skip
    # Closed, but the address stays for exactly the one notice of the last message.
    assert await _address(database, keys, opened.case_id) == STUDENT_CHAT
    async with database.transaction() as session:
        case = await session.get(Case, opened.case_id)
        assert case is not None
        assert case.status == CaseStatus.CLOSED
        notices = [
            d for d in await outbox.claim_due(session, now, 10) if d.kind == DeliveryKind.NOTIFY_STUDENT
        ]
        assert [d.officer_id for d in notices] == [None]
        # While the notice is being sent, the address must not go.
        assert not await lifecycle.forget_closed_address(session, opened.case_id)
        await outbox.mark_sent(session, notices[0].id, 77, now)
    async with database.transaction() as session:
        assert await lifecycle.forget_closed_address(session, opened.case_id)
    assert await _address(database, keys, opened.case_id) is None
    # The message is an officer message of the thread, authenticated like every other (it verifies).
    async with database.transaction() as session:
        thread = await reading.read_case_as_officer(session, keys, opened.case_id, world.north_officer)
    assert thread.withheld == 0
    assert [(m.direction, m.body) for m in thread.messages][-1] == (
        "officer",
        {"text": "Thank you. The staff dealt with it."},
    )


async def test_closing_without_a_last_message_deletes_the_address_at_once(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "tip", notify_chat_id=STUDENT_CHAT)
    assert await _address(database, keys, opened.case_id) == STUDENT_CHAT  # control: it was there
    async with database.transaction() as session:
        await lifecycle.close(session, policy, opened.case_id, world.north_officer, Outcome.RESOLVED, now)
        pending = await session.scalar(
            select(Delivery.id).where(
                Delivery.case_id == opened.case_id, Delivery.kind == DeliveryKind.NOTIFY_STUDENT
            )
        )
        assert pending is None
    assert await _address(database, keys, opened.case_id) is None


async def test_reopening_is_audited_and_stops_retention_without_restarting_escalation(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "tip", urgent=True)
    async with database.transaction() as session:
        await lifecycle.close(session, policy, opened.case_id, world.north_officer, Outcome.RESOLVED, now)
    with pytest.raises(CaseClosed):  # control: a closed case takes no officer message
        async with database.transaction() as session:
            await intake.add_message(
                session, keys, policy, opened.case_id, direction=Direction.OFFICER, body={"text": "hi"},
                now=now, author_officer_id=world.north_officer,
            )  # fmt: skip
    # Only an officer of the case may reopen it.
    with pytest.raises(Exception, match="not shared"):
        async with database.transaction() as session:
            await lifecycle.reopen(session, opened.case_id, world.south_officer, now)
    later = now + timedelta(minutes=3)
    async with database.transaction() as session:
        await lifecycle.reopen(session, opened.case_id, world.north_officer, later)
    async with database.transaction() as session:
        case = await session.get(Case, opened.case_id)
        assert case is not None
        assert (case.status, case.outcome, case.closed_at, case.retain_until) == (
            CaseStatus.IN_PROGRESS,
            None,
            None,
            None,
        )
        assert case.next_escalation_at is None
        assert case.acknowledged_by == world.north_officer  # closed unacknowledged: the reopener has it
        events = [(e.action, e.actor) for e in await audit.list_events(session, case_id=opened.case_id)]
        assert ("case.reopened", audit.officer_actor(world.north_officer)) in events
        # Reopened, it is never purged, and it does not escalate again.
        assert await lifecycle.purge_expired(session, later + policy.retention * 2) == 0
        run = await escalation.process_due(session, policy, later + timedelta(days=3))
        assert (run.escalated, run.reminded) == (0, 0)
        await intake.add_message(
            session, keys, policy, opened.case_id, direction=Direction.OFFICER,
            body={"text": "one more thing"}, now=later, author_officer_id=world.north_officer,
        )  # fmt: skip
    with pytest.raises(InvalidTransition):
        async with database.transaction() as session:
            await lifecycle.reopen(session, opened.case_id, world.north_officer, later)


async def test_the_officer_a_case_went_past_is_told(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "urgent", urgent=True)
    later = now + policy.urgent_ack
    async with database.transaction() as session:
        # Control: before the primary's tip was sent, there is nobody it went past.
        assert await escalation.had_the_case(session, opened.case_id) == []
        for row in await outbox.claim_due(session, now, 10):
            await outbox.mark_sent(session, row.id, 1, now)
        assert await escalation.had_the_case(session, opened.case_id) == [world.north_officer]
        await escalation.process_due(session, policy, later)
        rows = (
            await session.scalars(
                select(Delivery).where(
                    Delivery.case_id == opened.case_id, Delivery.kind == DeliveryKind.ESCALATION_NOTICE
                )
            )
        ).all()
        assert [(r.officer_id, r.status) for r in rows] == [(world.north_officer, DeliveryStatus.PENDING)]
        # The notice is moot once the case is closed: it goes with the other unsent notices.
        await lifecycle.close(session, policy, opened.case_id, world.north_backup, Outcome.RESOLVED, later)
        left = await session.scalar(
            select(Delivery.id).where(Delivery.kind == DeliveryKind.ESCALATION_NOTICE)
        )
        assert left is None


async def test_an_escalation_notice_is_never_rerouted_to_someone_else(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "urgent", urgent=True)
    async with database.transaction() as session:
        for row in await outbox.claim_due(session, now, 10):
            await outbox.mark_sent(session, row.id, 1, now)
        await escalation.process_due(session, policy, now + policy.urgent_ack)
        rows = {
            DeliveryKind(r.kind): r.id
            for r in await session.scalars(select(Delivery).where(Delivery.case_id == opened.case_id))
            if r.status == DeliveryStatus.PENDING
        }
        # Control: the escalated tip itself, undeliverable, goes on to someone who can receive it.
        assert await failures.reroute(session, policy, rows[DeliveryKind.ESCALATION], now) > 0
        # The primary's own notice is theirs only: failed, not handed to anyone.
        assert await failures.reroute(session, policy, rows[DeliveryKind.ESCALATION_NOTICE], now) == 0
        notice = await session.get(Delivery, rows[DeliveryKind.ESCALATION_NOTICE])
        assert notice is not None
        assert notice.status == DeliveryStatus.FAILED
        others = await session.scalar(
            select(Delivery.id).where(
                Delivery.kind == DeliveryKind.ESCALATION_NOTICE, Delivery.id != notice.id
            )
        )
        assert others is None


async def test_the_daily_purge_deletes_an_address_that_outlived_its_last_notice(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "tip", notify_chat_id=STUDENT_CHAT)
    async with database.transaction() as session:
        await lifecycle.close(
            session, policy, opened.case_id, world.north_officer, Outcome.RESOLVED, now,
            last_message="All done.", keys=keys,
        )  # fmt: skip
    async with database.transaction() as session:
        # Control: while the notice is still due, the purge leaves the address alone.
        assert await lifecycle.purge_expired(session, now) == 0
    assert await _address(database, keys, opened.case_id) == STUDENT_CHAT
    # The notice was sent, but the worker stopped before it could forget the address.
    async with database.transaction() as session:
        for row in await outbox.claim_due(session, now, 10):
            await outbox.mark_sent(session, row.id, 1, now)
    assert await _address(database, keys, opened.case_id) == STUDENT_CHAT
    async with database.transaction() as session:
        assert await lifecycle.purge_expired(session, now) == 0  # the case itself stays
    assert await _address(database, keys, opened.case_id) is None
