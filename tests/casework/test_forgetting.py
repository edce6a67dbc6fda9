"""Forgetting a chat in the domain: addresses found by unsealing, in batches; rate-limit counts stay.

Also the rule for pseudonymous rows: their plain times are on quarter-hour
boundaries, the exact ones sealed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from casework import coarse, rate_limits
from casework.cases import drafts, forgetting, intake, lifecycle
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Case, Draft, Outcome, RateLimit
from tests.casework.world import build_world, open_report

CHAT, OTHER_CHAT = 4_100_000_001, 4_100_000_002


async def test_forget_finds_the_chats_addresses_in_batches(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    mine = [
        (await open_report(database, keys, policy, now, world.north, f"r{i}", notify_chat_id=CHAT)).case_id
        for i in range(4)
    ]
    theirs = (
        await open_report(database, keys, policy, now, world.north, "t", notify_chat_id=OTHER_CHAT)
    ).case_id
    silent = (await open_report(database, keys, policy, now, world.south, "s")).case_id
    tampered = (await open_report(database, keys, policy, now, world.north, "x", notify_chat_id=CHAT)).case_id
    async with database.transaction() as session:
        await lifecycle.close(session, policy, mine[0], world.north_officer, Outcome.RESOLVED, now)
        blob = await session.scalar(select(Case.notify_address_sealed).where(Case.id == tampered))
        assert blob is not None
        await session.execute(
            update(Case)
            .where(Case.id == tampered)
            .values(notify_address_sealed=blob[:-1] + bytes([blob[-1] ^ 1]))
        )
    async with database.transaction() as session:  # positive control: the addresses are there
        assert [await intake.notify_address(session, keys, i) for i in mine[1:]] == [CHAT] * 3
        forgotten = await forgetting.forget_chat(session, keys, CHAT, now, batch=2)
    assert forgotten.addresses == 3  # the open ones; closing had already forgotten the first
    async with database.transaction() as session:
        assert [await intake.notify_address(session, keys, i) for i in mine] == [None] * 4
        assert await intake.notify_address(session, keys, theirs) == OTHER_CHAT
        assert await intake.notify_address(session, keys, silent) is None
        # A tampered address is skipped (it reaches nobody anyway), never a reason to fail.
        assert await session.scalar(select(Case.notify_address_sealed).where(Case.id == tampered)) is not None


async def test_forget_deletes_the_chats_rows_but_not_its_rate_limit_counts(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    me, other = keys.pseudonym(CHAT), keys.pseudonym(OTHER_CHAT)
    window = timedelta(minutes=1)
    async with database.transaction() as session:
        await drafts.save_state(session, keys, me, {"step": "interview"}, now)
        await drafts.remember_messages(session, keys, me, [11, 12], now)
        await drafts.save_state(session, keys, other, {"step": "interview"}, now)
        for who in (me, other):
            await rate_limits.hit(session, keys, who, "messages", limit=20, window=window, now=now)
            for _ in range(4):
                await rate_limits.hit(session, keys, who, "status-miss", limit=3, window=window, now=now)
    async with database.transaction() as session:
        forgotten = await forgetting.forget_chat(session, keys, CHAT, now)
    assert forgotten.message_ids == [11, 12]
    async with database.transaction() as session:
        assert list(await session.scalars(select(Draft.pseudonym).where(Draft.pseudonym == me))) == []
        assert await drafts.take_messages(session, keys, me, now) == []
        assert await session.get(Draft, other) is not None  # positive control: the other chat's draft
        # The counts stay, running block or not: /forget is no way round a limit.
        rows = await session.scalars(select(RateLimit).where(RateLimit.key == me))
        buckets = sorted(row.bucket for row in rows)
        assert buckets == ["messages", "status-miss"]
        until = await rate_limits.blocked_until(session, keys, me, "status-miss", now)
        assert until == now + window
        assert len(list(await session.scalars(select(RateLimit).where(RateLimit.key == other)))) == 2
    # They go by themselves once they stop mattering (a block's strikes are kept a day after it).
    async with database.transaction() as session:
        assert await rate_limits.purge_expired(session, coarse.ceil(now + window)) == 2  # 'messages'
        assert await rate_limits.purge_expired(session, coarse.ceil(now + window + timedelta(days=1))) == 2
        assert list(await session.scalars(select(RateLimit).where(RateLimit.key == me))) == []


async def test_nineteen_messages_then_forget_then_more_is_still_limited(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    """Before, /forget deleted the count: 'send 19, /forget, again' was never slowed down."""
    me = keys.pseudonym(CHAT)
    window = timedelta(seconds=30)

    async def send() -> bool:
        async with database.transaction() as session:
            decision = await rate_limits.hit(session, keys, me, "messages", limit=20, window=window, now=now)
        return decision.allowed

    assert all([await send() for _ in range(19)])
    async with database.transaction() as session:
        await forgetting.forget_chat(session, keys, CHAT, now)
    assert await send()  # the 20th: the limit allows it
    assert not await send()  # the 21st, in the same window: slowed down, /forget or not


async def test_pseudonymous_rows_show_only_quarter_hours(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    at = now + timedelta(minutes=7, seconds=13, microseconds=5)
    me = keys.pseudonym(CHAT)
    async with database.transaction() as session:
        await drafts.save_state(session, keys, me, {"step": "interview"}, at)
        await drafts.remember_messages(session, keys, me, [5], at)
        await rate_limits.hit(session, keys, me, "messages", limit=20, window=timedelta(seconds=30), now=at)
    async with database.transaction() as session:
        times = [t for row in await session.scalars(select(Draft)) for t in (row.updated_at, row.expires_at)]
        times += [row.expires_at for row in await session.scalars(select(RateLimit))]
        assert len(times) == 5
        assert all(coarse.floor(t) == t for t in times), times
        assert {row.updated_at for row in await session.scalars(select(Draft))} == {coarse.floor(at)}
        # The exact expiry still holds: 30 minutes to the second, not the quarter hour after.
        assert await drafts.load_state(session, keys, me, at + timedelta(minutes=30) - timedelta(seconds=1))
        assert await drafts.load_state(session, keys, me, at + timedelta(minutes=30)) is None
    # Positive control: the instant itself is not on a boundary, so the check can see a fine time.
    assert coarse.floor(at) != at
    # The rate limit's expiry is what the purge uses: nothing is purged before it.
    async with database.transaction() as session:
        assert await rate_limits.purge_expired(session, at + timedelta(seconds=31)) == 0
        assert await rate_limits.purge_expired(session, coarse.ceil(at + timedelta(seconds=30))) == 1
