"""An urgent report nobody could receive yet, then its school named: the school's officer gets it once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from casework import officers
from casework.cases import intake
from casework.delivery import routing
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Delivery, DeliveryKind, DeliveryStatus
from tests.casework.world import build_world, open_report


async def _tips(database: Database, case_id: int) -> list[tuple[int | None, DeliveryStatus]]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.case_id == case_id, Delivery.kind == DeliveryKind.TIP)
        )
        return sorted(((row.officer_id, row.status) for row in rows), key=str)


async def test_a_waiting_tip_is_taken_over_when_the_school_is_named(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    async with database.transaction() as session:
        await officers.mark_unreachable(session, world.supervisor, now)  # nobody holds school-less reports
    early = await open_report(database, keys, policy, now, None, "a gun, school not said yet", urgent=True)
    # The control: the tip waits for someone to receive it.
    assert await _tips(database, early.case_id) == [(None, DeliveryStatus.WAITING)]

    async with database.transaction() as session:
        await intake.assign_school(session, keys, policy, early.case_id, world.north, now)
    async with database.transaction() as session:
        await routing.release_waiting(session, policy, now)  # e.g. an officer enrolls meanwhile

    assert await _tips(database, early.case_id) == [(world.north_officer, DeliveryStatus.PENDING)]
