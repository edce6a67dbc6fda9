"""Send is idempotent on a unique key in the database, not on in-process ordering."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from casework.cases import intake
from casework.cases.codes import CaseCode
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Case, CaseKind
from tests.casework.world import build_world


async def send(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime, school: int, token: str
) -> int:
    async with database.transaction() as session:
        opened = await intake.open_case(
            session, keys, policy, school_id=school, kind=CaseKind.REPORT, intent="report_bullying",
            urgent=False, body={"what": "they took my phone"}, notify_chat_id=None, now=now,
            code=CaseCode.new(), send_key=token,
        )  # fmt: skip
        return opened.case_id


async def count_cases(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


async def test_the_same_send_token_cannot_open_a_second_case(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    first = await send(database, keys, policy, now, world.north, "token-one")
    # The database itself refuses the second, whatever the process did before.
    with pytest.raises(IntegrityError):
        await send(database, keys, policy, now, world.north, "token-one")
    assert await count_cases(database) == 1
    async with database.transaction() as session:
        assert await intake.case_for_send_key(session, keys, "token-one") == first
        assert await intake.case_for_send_key(session, keys, "token-two") is None
        stored = await session.get(Case, first)
        assert stored is not None
        assert stored.send_key_hash is not None
        assert b"token-one" not in stored.send_key_hash  # only a keyed hash is kept
    # Positive control: another draft's token opens its own case.
    second = await send(database, keys, policy, now, world.north, "token-two")
    assert second != first
    assert await count_cases(database) == 2
