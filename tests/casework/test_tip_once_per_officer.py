"""A case's tip reaches each officer once, also when another officer of the same link is gone.

A school with two primary officers: one has blocked the bot. Her tip is rerouted; before, it went
to the other primary, who had it already (the same tip twice on his phone). Now it goes to nobody
who has it; with nobody else in the link, up the chain as before (the controls).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from casework import officers
from casework.delivery import failures, outbox
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import AssignmentKind, Delivery, DeliveryKind, DeliveryStatus
from tests.casework.world import World, build_world, open_report


async def _tips(database: Database, case_id: int) -> list[tuple[int | None, DeliveryStatus]]:
    async with database.transaction() as session:
        query = select(Delivery).where(Delivery.case_id == case_id, Delivery.kind == DeliveryKind.TIP)
        return [(r.officer_id, r.status) for r in (await session.scalars(query.order_by(Delivery.id))).all()]


async def _two_primaries(database: Database, keys: KeyRing, policy: CasePolicy, now: datetime) -> World:
    world = await build_world(database, keys, policy, now)
    async with database.transaction() as session:
        await officers.assign(session, keys, world.south_officer, "NTH", kind=AssignmentKind.PRIMARY, now=now)
    return world


async def _reroute_of(
    database: Database, policy: CasePolicy, now: datetime, case_id: int, gone: int, *, sent: bool
) -> int:
    async with database.transaction() as session:
        rows = await outbox.claim_due(session, now, 50)
        for row in rows:
            if row.officer_id != gone and sent:
                await outbox.mark_sent(session, row.id, 1, now)
        (row,) = [r for r in rows if r.case_id == case_id and r.officer_id == gone]
        await officers.mark_unreachable(session, gone, now)
        return await failures.reroute(session, policy, row.id, now)


async def test_a_second_primary_who_has_the_tip_does_not_get_it_again(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await _two_primaries(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "a knife in a bag", urgent=True)
    both = {world.north_officer, world.south_officer}
    assert {o for o, _ in await _tips(database, opened.case_id)} == both
    rerouted = await _reroute_of(database, policy, now, opened.case_id, world.north_officer, sent=True)
    assert rerouted == 0
    tips = await _tips(database, opened.case_id)
    assert tips.count((world.south_officer, DeliveryStatus.SENT)) == 1
    assert [o for o, _ in tips].count(world.south_officer) == 1  # not queued to him again
    assert (world.north_officer, DeliveryStatus.FAILED) in tips
    assert world.north_backup not in [o for o, _ in tips]  # someone in the link has it: no escalation


async def test_also_while_his_copy_is_still_on_its_way(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await _two_primaries(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "a knife in a bag", urgent=True)
    assert await _reroute_of(database, policy, now, opened.case_id, world.north_officer, sent=False) == 0
    tips = await _tips(database, opened.case_id)
    assert [o for o, _ in tips].count(world.south_officer) == 1


async def test_control_a_lone_primary_gone_sends_the_tip_up_the_chain(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "a knife in a bag", urgent=True)
    rerouted = await _reroute_of(database, policy, now, opened.case_id, world.north_officer, sent=True)
    assert rerouted >= 1
    tips = await _tips(database, opened.case_id)
    assert (world.north_backup, DeliveryStatus.PENDING) in tips
