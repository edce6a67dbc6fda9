"""Alerts hold no content and reach the supervisors; urgent deliveries are claimed before others."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from casework.delivery import alerts, failures, outbox
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Alert, AlertKind, Delivery, DeliveryKind, DeliveryPriority, DeliveryStatus
from tests.casework.world import build_world, open_report


async def test_an_alert_is_listed_and_queued_for_the_supervisors_without_content(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "a secret word: pangolin")
    async with database.transaction() as session:
        alert = await alerts.raise_alert(
            session, AlertKind.RENDERING_FAILED, now, case_id=opened.case_id, officer_id=world.north_officer
        )
    async with database.transaction() as session:
        listed = await alerts.list_alerts(session)
        assert [(a.id, a.kind, a.case_id, a.officer_id) for a in listed] == [
            (alert.id, AlertKind.RENDERING_FAILED, opened.case_id, world.north_officer)
        ]
        notices = (await session.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.ALERT))).all()
        assert [(d.officer_id, d.alert_id, d.priority) for d in notices] == [
            (world.supervisor, alert.id, DeliveryPriority.URGENT)
        ]
        # The alert's columns are its whole content: a kind, two numbers and a time.
        assert set(Alert.__table__.columns.keys()) == {"id", "kind", "case_id", "officer_id", "created_at"}
        assert await alerts.list_alerts(session, kind=AlertKind.TAMPERED_MESSAGE) == []


async def test_an_urgent_tip_is_claimed_before_older_normal_ones(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    for _ in range(3):
        await open_report(database, keys, policy, now, world.north, "a long one")
    urgent = await open_report(
        database, keys, policy, now + timedelta(seconds=5), world.north, "gun", urgent=True
    )
    async with database.transaction() as session:
        first = await outbox.claim_due(session, now + timedelta(seconds=5), 1)
        assert [(d.case_id, d.kind, d.priority) for d in first] == [
            (urgent.case_id, DeliveryKind.TIP, DeliveryPriority.URGENT)
        ]
        # Positive control: without the priority, the oldest normal tip would have come first.
        rest = await outbox.claim_due(session, now + timedelta(seconds=5), 10)
        assert [d.priority for d in rest] == [DeliveryPriority.NORMAL] * 3
        assert min(d.next_attempt_at for d in rest) < first[0].next_attempt_at


async def test_an_alert_that_cannot_be_delivered_is_listed_not_sent_again(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "x")
    async with database.transaction() as session:
        await alerts.raise_alert(session, AlertKind.NOBODY_REACHABLE, now)  # no case: the row must fail too
        await alerts.raise_alert(session, AlertKind.RENDERING_FAILED, now, case_id=opened.case_id)
        notices = (await session.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.ALERT))).all()
        assert len(notices) == 2  # positive control: each alert was queued for the supervisor
        # The supervisor's chat is gone for one, Telegram refuses the other.
        await failures.reroute(session, policy, notices[0].id, now)
        await failures.rendering_failed(
            session, notices[1].id, "BadRequest", now, alert=AlertKind.RENDERING_FAILED
        )
    async with database.transaction() as session:
        rows = (await session.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.ALERT))).all()
        assert [r.status for r in rows] == [DeliveryStatus.FAILED, DeliveryStatus.FAILED]  # no new sends
        kinds = [a.kind for a in await alerts.list_alerts(session)]
        assert kinds.count(AlertKind.ALERT_FAILED) == 2
