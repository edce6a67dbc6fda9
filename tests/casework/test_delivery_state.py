"""The outbox, drafts, rate limits and escalation: the state the bot keeps in the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from casework import rate_limits
from casework.cases import drafts, intake, lifecycle
from casework.delivery import escalation, outbox
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Delivery, DeliveryKind, DeliveryStatus, Direction
from tests.casework.world import build_world, open_report


async def test_outbox_claims_retries_and_reclaims_after_a_crash(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "tip")
    async with database.transaction() as session:
        claimed = await outbox.claim_due(session, now, 10)
        assert [(d.kind, d.officer_id, d.attempts) for d in claimed] == [
            (DeliveryKind.TIP, world.north_officer, 1)
        ]
        assert await outbox.claim_due(session, now, 10) == []  # nothing else is due
        await outbox.mark_retry(session, claimed[0].id, "RetryAfter", now + timedelta(seconds=30))
    async with database.transaction() as session:
        assert await outbox.claim_due(session, now + timedelta(seconds=29), 10) == []
        again = await outbox.claim_due(session, now + timedelta(seconds=30), 10)
        assert [d.attempts for d in again] == [2]
    # The worker crashes while sending: after `stale_after` the row is claimed once more.
    async with database.transaction() as session:
        assert await outbox.claim_due(session, now + timedelta(seconds=60), 10) == []
        reclaimed = await outbox.claim_due(session, now + timedelta(minutes=5), 10)
        assert [d.id for d in reclaimed] == [again[0].id]
        await outbox.mark_sent(session, reclaimed[0].id, 4242, now + timedelta(minutes=5))
    async with database.transaction() as session:
        assert await outbox.case_of_sent_message(session, world.north_officer, 4242) == opened.case_id
        row = await session.get(Delivery, reclaimed[0].id)
        assert row is not None
        assert (row.status, row.last_error) == (DeliveryStatus.SENT, "RetryAfter")


async def test_acknowledging_tells_the_others_and_stops_escalation(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "urgent", urgent=True)
    async with database.transaction() as session:
        for row in await outbox.claim_due(session, now, 10):
            await outbox.mark_sent(session, row.id, 1, now)
    later = now + policy.urgent_ack
    async with database.transaction() as session:
        run = await escalation.process_due(session, policy, later)
        assert (run.escalated, run.reminded) == (1, 0)
    async with database.transaction() as session:
        kinds = [(d.kind, d.officer_id) for d in await outbox.claim_due(session, later, 10)]
        # The backup gets the tip; the primary it went past is told (issue 9, "Officers").
        assert kinds == [
            (DeliveryKind.ESCALATION, world.north_backup),
            (DeliveryKind.ESCALATION_NOTICE, world.north_officer),
        ]
        for row in await session.scalars(select(Delivery).where(Delivery.status == DeliveryStatus.SENDING)):
            await outbox.mark_sent(session, row.id, 2, later)
    async with database.transaction() as session:
        run = await escalation.process_due(session, policy, later + policy.urgent_ack)
        assert run.escalated == 1  # on to the supervisors
        ack = await lifecycle.acknowledge(session, policy, opened.case_id, world.north_backup, later)
        assert not ack.already
        notices = list(
            await session.scalars(select(Delivery.officer_id).where(Delivery.kind == DeliveryKind.ACK_NOTICE))
        )
        assert notices == [world.north_officer]
    async with database.transaction() as session:
        assert (await escalation.process_due(session, policy, later + timedelta(hours=5))).escalated == 0
        second = await lifecycle.acknowledge(session, policy, opened.case_id, world.north_officer, later)
        assert second.already
        assert second.acknowledged_by == world.north_backup


async def test_drafts_expire_and_are_bound_to_their_pseudonym(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    me = keys.pseudonym(123456789)
    assert me != keys.pseudonym(123456780)
    assert len(me) == 64
    assert "123456789" not in me
    async with database.transaction() as session:
        await drafts.save_state(session, keys, me, {"step": "details", "text": "half a report"}, now)
        await drafts.save_state(session, keys, me, {"step": "confirm"}, now + timedelta(minutes=1))
    async with database.transaction() as session:
        assert await drafts.load_state(session, keys, me, now + timedelta(minutes=30)) == {"step": "confirm"}
        assert await drafts.exists(session, me)
        assert await drafts.load_state(session, keys, me, now + timedelta(minutes=31)) is None
    async with database.transaction() as session:
        assert not await drafts.exists(session, me)  # the expired draft was deleted


async def test_rate_limit_blocks_for_longer_each_time(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    window = timedelta(minutes=1)
    blocks = []
    at = now
    for _ in range(3):
        async with database.transaction() as session:
            for attempt in range(4):
                decision = await rate_limits.hit(
                    session, keys, "p" * 64, "status-miss", limit=3, window=window, now=at
                )
                assert decision.allowed == (attempt < 3)
            assert decision.retry_at is not None
            blocks.append(decision.retry_at - at)
            until = await rate_limits.blocked_until(session, keys, "p" * 64, "status-miss", at)
            assert until == decision.retry_at
            assert not (
                await rate_limits.hit(session, keys, "p" * 64, "status-miss", limit=3, window=window, now=at)
            ).allowed
            at = decision.retry_at
    assert blocks == [window, 2 * window, 4 * window]
    async with database.transaction() as session:
        assert await rate_limits.blocked_until(session, keys, "p" * 64, "status-miss", at) is None
        other = await rate_limits.hit(session, keys, "q" * 64, "status-miss", limit=3, window=window, now=now)
        assert other.allowed


async def test_one_recipients_backlog_does_not_fill_a_claim_ahead_of_another_schools_urgent_tip(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """A student who keeps adding to an urgent case queues many urgent rows for one officer's chat,
    which Telegram drains at about one a second; a claim takes at most `PER_RECIPIENT` of them, so
    another school's urgent tip, queued later, goes in the very next batch."""
    world = await build_world(database, keys, policy, now)
    flooded = await open_report(database, keys, policy, now, world.north, "a gun", urgent=True)
    for n in range(20):
        async with database.transaction() as session:
            await intake.add_message(
                session, keys, policy, flooded.case_id, direction=Direction.STUDENT,
                body={"text": f"he has a gun {n}"}, now=now + timedelta(seconds=n),
            )  # fmt: skip
    other = await open_report(
        database, keys, policy, now + timedelta(minutes=1), world.south, "a threat", urgent=True
    )
    later = now + timedelta(minutes=2)
    async with database.transaction() as session:
        # Control: without the cap, the backlog alone fills the batch (the test can fail).
        uncapped = await outbox.claim_due(session, later, 16, per_recipient=16)
        assert world.south_officer not in {d.officer_id for d in uncapped}
        await session.rollback()
    async with database.transaction() as session:
        claimed = await outbox.claim_due(session, later, 16)
    by_officer: dict[int | None, list[Delivery]] = {}
    for row in claimed:
        by_officer.setdefault(row.officer_id, []).append(row)
    assert [d.case_id for d in by_officer[world.south_officer]] == [other.case_id]
    assert max(len(rows) for rows in by_officer.values()) <= outbox.PER_RECIPIENT
    # The backlog is not lost: each further claim takes the next few of it, in the order queued.
    seen = [d.id for d in by_officer[world.north_officer]]
    for _ in range(30):
        async with database.transaction() as session:
            for row in claimed:
                await outbox.mark_sent(session, row.id, None, later)
            claimed = await outbox.claim_due(session, later, 16)
        seen += [d.id for d in claimed if d.officer_id == world.north_officer]
        if not claimed:
            break
    async with database.transaction() as session:
        queued = (
            await session.scalars(
                select(Delivery.id).where(Delivery.officer_id == world.north_officer).order_by(Delivery.id)
            )
        ).all()
    assert seen == list(queued)
