"""No update lost to a crash: a burst of urgent reports, the bot SIGKILLed mid-burst, restarted.

The bot runs as `python -m bot` (durable intake). Each student's replies are
held by the emulator (a delay on their chat), so at the kill every update has
been fetched and confirmed to Telegram (it holds none any more) while the
students have heard nothing: without the durable inbox those reports would be
gone. After the restart every student gets the safety information and a case
code, each report is one case, and the officer (here the supervisor: no
school was named) gets each tip, a duplicate only for a send in flight.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from devtools.emulator.client import User
from storage.models import Case, IntakeUpdate
from tests.bot.conftest import _no_nlu, _world
from tests.bot.harness import CODE, World, eventually
from tests.bot.test_delivery_faults import tips_by_case
from tests.storage.fixtures import TestDatabase

pytestmark = pytest.mark.slow

REPORTS = [
    "a kid in grade 10 has a knife in his backpack",
    "someone brought a gun to the caf today",
    "there is a guy with brass knuckles at the plaza after school",
    "someone has a machete in the parking lot",
]
STUDENTS = 40
# Without a school the report waits this long for one, then goes to the supervisor.
ENV = {"SCHOOL_ANSWER_SECONDS": "1", "INTAKE_LEASE_SECONDS": "2", "OUTBOX_STALE_SECONDS": "3"}


@pytest.fixture
async def crash_world(sqlite_database: TestDatabase) -> AsyncIterator[World]:
    """The world on SQLite; the bot process's model is its own fallback (no Rasa server)."""
    async for world in _world(sqlite_database, *_no_nlu()):
        yield world


async def cases(world: World) -> int:
    async with world.database() as (db, _keys), db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


async def unhandled(world: World) -> int:
    async with world.database() as (db, _keys), db.transaction() as session:
        query = select(func.count()).select_from(IntakeUpdate).where(IntakeUpdate.done.is_(False))
        return int(await session.scalar(query) or 0)


async def answered(world: World, student: User) -> bool:
    """The student saw the safety information and was given a case code."""
    texts = [message.text for message in await world.emu.messages(student)]
    return any("911" in text for text in texts) and any(CODE.search(text) for text in texts)


async def test_sigkill_mid_burst_loses_no_urgent_report(crash_world: World, tmp_path: Path) -> None:
    world = crash_world
    supervisor = await world.enroll("supervisor")
    students = [await world.emu.user(first_name="Sam", started=True) for _ in range(STUDENTS)]
    for student in students:  # the bot's answers to students are held: the kill finds them unsent
        await world.emu.delay(5.0, times=None, method="sendMessage", chat=student)

    def start(name: str) -> subprocess.Popen[bytes]:
        return world.bot_process(tmp_path / f"{name}.log", **ENV)

    first = start("first")
    try:
        await eventually(world.emu.bot_connected, seconds=60)
        await asyncio.gather(
            *(world.emu.send_text(s, REPORTS[i % len(REPORTS)]) for i, s in enumerate(students))
        )
        server = world.emu.server
        assert server is not None

        async def confirmed_and_under_way() -> bool:
            return not server.world.pending and await cases(world) >= 1

        await eventually(confirmed_and_under_way, seconds=60, what="the burst fetched and being handled")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    # Positive control: at the kill, Telegram holds none of these updates any more (confirmed by the
    # next getUpdates), and not every report was handled: only the inbox still has them.
    assert not server.world.pending
    assert await unhandled(world) > 0
    told = [s for s in students if await answered(world, s)]
    assert len(told) < STUDENTS

    await world.emu.clear_faults()
    second = start("second")
    try:

        async def everyone_answered() -> bool:
            return all([await answered(world, s) for s in students])

        await eventually(everyone_answered, seconds=120, what="every student answered")

        async def every_tip() -> object:
            tips = await tips_by_case(world, supervisor)
            return tips if len(tips) == STUDENTS else None

        tips = await eventually(every_tip, seconds=120, what="every tip delivered")
        assert await unhandled(world) == 0
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert await cases(world) == STUDENTS  # no case opened twice
    assert sum(count - 1 for count in tips.values()) <= 1, tips  # at most the send the kill interrupted
    for student in students:  # handled again after the kill, a report keeps the code of its case
        texts = [message.text for message in await world.emu.messages(student)]
        assert len({found.group() for text in texts if (found := CODE.search(text))}) == 1, texts
