"""A student's image reaches each officer once, whichever way its rows go (reroute, waiting, release).

The end-to-end test in bot/test_evidence_delivery.py covers the reroute to an officer who has the
image on its way (`test_an_image_rerouted_from_a_gone_officer_reaches_each_officer_once`); this one
covers a row that waited for a receiver while the case was escalated to an officer who got the image
with the escalated tip.
Positive control: a waiting image that nobody has yet is released as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.delivery_media import queue_tip_images
from casework import officers
from casework.delivery import escalation, failures, outbox, routing
from casework.evidence import store_image
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Delivery, DeliveryKind, DeliveryStatus
from tests.casework.test_evidence_images import screenshot_pattern
from tests.casework.world import build_world, open_report


async def _rows(database: Database, case_id: int, kind: DeliveryKind) -> list[Delivery]:
    async with database.transaction() as session:
        query = select(Delivery).where(Delivery.case_id == case_id, Delivery.kind == kind)
        return list((await session.scalars(query.order_by(Delivery.id))).all())


async def _send_all(database: Database, now: datetime) -> None:
    """What the sender does once each due row is sent: marked sent, a tip's images queued after it."""
    async with database.transaction() as session:
        for row in await outbox.claim_due(session, now, 50):
            await outbox.mark_sent(session, row.id, 1, now)
            await queue_tip_images(session, row, now)


async def test_a_waiting_image_is_not_released_to_an_officer_who_has_it(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "he posted this")
    async with database.transaction() as session:
        await store_image(
            session, opened.case_id, screenshot_pattern(), ocr_text=None, caption=None, now=now, notify=False
        )
    await _send_all(database, now)  # the tip to the primary; its image queued to them
    (image_row,) = await _rows(database, opened.case_id, DeliveryKind.STUDENT_REPLY)
    assert image_row.officer_id == world.north_officer
    # The primary blocked the bot before the image went: rerouted, nobody else receives yet, it waits.
    async with database.transaction() as session:
        await officers.mark_unreachable(session, world.north_officer, now)
        assert await failures.reroute(session, policy, image_row.id, now) == 0
    replies = await _rows(database, opened.case_id, DeliveryKind.STUDENT_REPLY)
    waiting = [r for r in replies if r.officer_id is None]
    assert [r.status for r in waiting] == [DeliveryStatus.WAITING]
    # The case goes up the chain: the backup gets the escalated tip, and the image with it.
    later = now + timedelta(minutes=1)
    async with database.transaction() as session:
        await escalation.escalate_now(session, policy, opened.case_id, world.north_officer, later)
    await _send_all(database, later)
    await _send_all(database, later)  # the image row queued after the escalated tip
    to_backup = [
        r for r in await _rows(database, opened.case_id, DeliveryKind.STUDENT_REPLY)
        if r.officer_id == world.north_backup
    ]  # fmt: skip
    assert [r.status for r in to_backup] == [DeliveryStatus.SENT]
    # Someone enrolls (here: the primary comes back): waiting rows are released. The backup has the
    # image already, the primary does not: only the primary gets it.
    async with database.transaction() as session:
        code = await officers.issue_enrollment_code(session, keys, world.north_officer, later)
    async with database.transaction() as session:
        await officers.enroll(session, keys, policy, code, 9_100_001, later)
    async with database.transaction() as session:
        await routing.release_waiting(session, policy, later)
    by_officer = [
        (r.officer_id, r.status) for r in await _rows(database, opened.case_id, DeliveryKind.STUDENT_REPLY)
    ]
    assert by_officer.count((world.north_backup, DeliveryStatus.SENT)) == 1
    assert (world.north_backup, DeliveryStatus.PENDING) not in by_officer  # not queued to them again
    assert (world.north_officer, DeliveryStatus.PENDING) in by_officer  # control: released as before
    assert not [s for o, s in by_officer if s == DeliveryStatus.WAITING]


async def test_a_waiting_image_everyone_has_is_dropped(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """The same, but the only receiver when it is released (the backup) has it: nothing is queued."""
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "he posted this")
    async with database.transaction() as session:
        await store_image(
            session, opened.case_id, screenshot_pattern(), ocr_text=None, caption=None, now=now, notify=False
        )
    await _send_all(database, now)
    (image_row,) = await _rows(database, opened.case_id, DeliveryKind.STUDENT_REPLY)
    async with database.transaction() as session:
        await officers.mark_unreachable(session, world.north_officer, now)
        await failures.reroute(session, policy, image_row.id, now)
        await escalation.escalate_now(session, policy, opened.case_id, world.north_officer, now)
    await _send_all(database, now)
    await _send_all(database, now)
    async with database.transaction() as session:
        await routing.release_waiting(session, policy, now)
    by_officer = [
        (r.officer_id, r.status) for r in await _rows(database, opened.case_id, DeliveryKind.STUDENT_REPLY)
    ]
    assert by_officer == [
        (world.north_officer, DeliveryStatus.FAILED),
        (world.north_backup, DeliveryStatus.SENT),
    ]
