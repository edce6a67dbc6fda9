"""Two bot instances rerouting rows of one case at the same moment (PostgreSQL; SQLite has one writer).

A school with two primary officers; both have blocked the bot, and each one's tip fails in a
different instance at the same instant. Each reroute reads who else has the tip before it writes.
Before, neither saw the other's uncommitted failure: each took the other primary for a holder, and
the tip reached nobody (the backup never got it, and no "reached nobody" alert was raised). Now a
reroute locks its case first, so the second one reads what the first committed, and the tip goes up
the chain to the backup, once.

The test holds the first reroute's transaction open until the second is either finished (the race
happened) or waiting on a lock (it cannot happen): no timing decides the outcome.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select, text

from casework import officers
from casework.delivery import failures, outbox
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from devtools.procs import eventually
from storage.db import Database
from storage.models import AssignmentKind, Delivery, DeliveryKind, DeliveryStatus
from tests.casework.world import build_world, open_report
from tests.storage.fixtures import BACKENDS

POSTGRESQL = BACKENDS[1]


async def _tips(database: Database, case_id: int) -> list[tuple[int | None, DeliveryStatus]]:
    async with database.transaction() as session:
        query = select(Delivery).where(Delivery.case_id == case_id, Delivery.kind == DeliveryKind.TIP)
        return [(r.officer_id, r.status) for r in (await session.scalars(query.order_by(Delivery.id))).all()]


async def _waiting_on_a_lock(database: Database) -> bool:
    async with database.read() as session:
        query = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(await session.scalar(query))


# PostgreSQL only: SQLite has one writer, so two reroutes cannot overlap there.
@pytest.mark.parametrize("test_database", [POSTGRESQL], indirect=True)
async def test_two_primaries_gone_at_once_in_two_instances_reach_the_backup_once(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    async with database.transaction() as session:
        await officers.assign(session, keys, world.south_officer, "NTH", kind=AssignmentKind.PRIMARY, now=now)
    opened = await open_report(database, keys, policy, now, world.north, "a knife in a bag", urgent=True)
    async with database.transaction() as session:
        claimed = await outbox.claim_due(session, now, 50)  # both tips on their way (sending)
    rows = {r.officer_id: r.id for r in claimed if r.case_id == opened.case_id}
    assert set(rows) == {world.north_officer, world.south_officer}

    async with database.transaction() as session:  # the first instance, still uncommitted
        await officers.mark_unreachable(session, world.north_officer, now)
        first = await failures.reroute(session, policy, rows[world.north_officer], now)

        async def second_instance() -> int:
            async with database.transaction() as other:
                await officers.mark_unreachable(other, world.south_officer, now)
                return await failures.reroute(other, policy, rows[world.south_officer], now)

        second = asyncio.create_task(second_instance())
        await eventually(
            lambda: second.done() or _waiting_on_a_lock(database), seconds=60, what="the second reroute"
        )
    rerouted = first + await second
    tips = await _tips(database, opened.case_id)
    to_backup = [status for officer, status in tips if officer == world.north_backup]
    assert to_backup == [DeliveryStatus.PENDING], tips
    assert rerouted == 1
