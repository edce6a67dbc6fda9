"""An officer's /case is kept in the case's audit trail (who read it, when), end to end."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from casework import audit
from storage.models import AuditEvent
from tests.bot.conftest import new_student
from tests.bot.harness import World

pytestmark = pytest.mark.rasa


async def reads_of(world: World) -> list[tuple[int | None, str]]:
    async with world.database() as (db, _), db.transaction() as session:
        rows = await session.execute(
            select(AuditEvent.case_id, AuditEvent.actor).where(AuditEvent.action == "case.read")
        )
        return [(case_id, actor) for case_id, actor in rows.all()]


async def test_reading_a_case_is_audited(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple ridge", "Maple Ridge Secondary School")
        assert "911" in (await student.says("a kid has a knife in his locker near room 204")).text
        tip = await world.emu.wait_for(officer, lambda m: "room 204" in m.text, after=0, timeout=15)
        reference = re.search(r"case ([A-Z0-9]+-\d+)", tip.text)
        assert reference, tip.text
        assert await reads_of(world) == []  # positive control: a tip alone is no read

        asked = await world.emu.send_text(officer, f"/case {reference.group(1)}")
        # The thread, not the tip that is already on screen: only what follows /case counts.
        thread = await world.emu.wait_for(officer, lambda m: "room 204" in m.text, after=asked, timeout=15)
        assert reference.group(1) in thread.text
        reads = await reads_of(world)
        assert len(reads) == 1
        case_id, actor = reads[0]
        assert actor == audit.officer_actor(world.officers["maple"].id)
        assert case_id is not None
