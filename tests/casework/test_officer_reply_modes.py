"""An officer's reply mode: its own sealed row per officer, short-lived, never a student's draft."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from casework.cases import reply_modes
from casework.cases.reply_modes import Closing, Holding, Replying, ReplyMode
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Draft, OfficerReplyMode, Outcome
from tests.casework.world import build_world

HELD = "Meet me by the gym doors at 3, bring the screenshots"
CASE_ID = 48213


async def _load(db: Database, keys: KeyRing, officer_id: int, now: datetime) -> ReplyMode | None:
    async with db.transaction() as session:
        return await reply_modes.load(session, keys, officer_id, now)


async def _save(db: Database, keys: KeyRing, officer_id: int, mode: ReplyMode, now: datetime) -> None:
    async with db.transaction() as session:
        await reply_modes.save(session, keys, officer_id, mode, now)


async def test_each_mode_comes_back_as_it_was_saved_and_one_replaces_the_other(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    officer = world.north_officer
    assert await _load(database, keys, officer, now) is None
    modes: list[ReplyMode] = [Replying(CASE_ID), Closing(CASE_ID, Outcome.REFERRED), Holding(CASE_ID, HELD)]
    for mode in modes:
        await _save(database, keys, officer, mode, now)
        assert await _load(database, keys, officer, now) == mode
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OfficerReplyMode)) == 1
        assert await session.scalar(select(func.count()).select_from(Draft)) == 0  # not a student's draft
        await reply_modes.clear(session, officer)
    assert await _load(database, keys, officer, now) is None


async def test_nothing_of_the_mode_is_in_the_clear(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    await _save(database, keys, world.north_officer, Holding(CASE_ID, HELD), now)
    async with database.transaction() as session:
        row = await session.get(OfficerReplyMode, world.north_officer)
        assert row is not None
        stored = b"|".join([row.nonce, row.ciphertext, str(row.updated_at).encode()])
    # The control: the payload before sealing names the case and holds the words.
    plain = json.dumps({"mode": {"kind": "holding", "case": CASE_ID, "text": HELD}}).encode()
    assert HELD.encode() in plain
    assert str(CASE_ID).encode() in plain
    assert HELD.encode() not in stored
    assert HELD.split()[-1].encode() not in stored
    assert b"holding" not in stored
    assert str(CASE_ID).encode() not in stored
    # Plain times are quarter hours, like a draft's.
    assert row.updated_at.minute % 15 == 0
    assert row.updated_at.second == 0
    assert row.expires_at.minute % 15 == 0


async def test_a_mode_moved_to_another_officer_does_not_open(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    await _save(database, keys, world.north_officer, Replying(CASE_ID), now)
    assert await _load(database, keys, world.north_officer, now) == Replying(CASE_ID)  # the control
    async with database.transaction() as session:
        await session.execute(
            update(OfficerReplyMode)
            .where(OfficerReplyMode.officer_id == world.north_officer)
            .values(officer_id=world.south_officer)
        )
    # The writer moved the row: it is sealed for the first officer's id, so it counts as no mode.
    assert await _load(database, keys, world.south_officer, now) is None
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OfficerReplyMode)) == 0


async def test_a_mode_expires_after_thirty_minutes_and_is_purged(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    await _save(database, keys, world.north_officer, Replying(CASE_ID), now)
    await _save(database, keys, world.south_officer, Replying(CASE_ID + 1), now)
    # The exact expiry is sealed: a minute before it the mode holds, at it the mode is gone.
    assert await _load(database, keys, world.north_officer, now + timedelta(minutes=29)) == Replying(CASE_ID)
    assert await _load(database, keys, world.north_officer, now + timedelta(minutes=30)) is None
    async with database.transaction() as session:
        assert await reply_modes.purge_expired(session, now) == 0  # the control: nothing due yet
        assert await reply_modes.purge_expired(session, now + timedelta(hours=1)) == 1
        assert await session.scalar(select(func.count()).select_from(OfficerReplyMode)) == 0
