"""Two bot instances on one PostgreSQL behind one webhook address, pacing on: one officer's chat.

Students send urgent reports at once; the emulator posts their updates round-robin, both
instances handle them and both delivery workers send tips, all to the one officer. Each instance
alone would let a burst of three through to that chat; together they would send twice that at
once. Shared through the database, the officer's chat gets a burst of three, then one a second,
whichever instance sends. What is measured is the emulator's time of each tip it received; a tip
can arrive only later than its slot (the way there takes time), never earlier, so the check
allows each up to LAG late, no more.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pacing import CHAT_BURST, PRIVATE_RATE
from tests.bot.conftest import _no_nlu, _world
from tests.bot.harness import World, eventually
from tests.bot.test_instances_webhook import start_instances, students_at_maple
from tests.storage.fixtures import TestDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

STUDENTS = CHAT_BURST + 7
REPORT = "someone has a knife in the gym"
LAG = 1.0  # seconds a tip may take from its slot to the emulator, beyond another's


@pytest.fixture
async def pg_world(test_database: TestDatabase) -> AsyncIterator[World]:
    async for world in _world(test_database, *_no_nlu()):
        yield world


def paced(times: list[float], lag: float) -> bool:
    """Any k+1 consecutive messages span at least k intervals, less the burst's tolerance and `lag`."""
    times = sorted(times)
    rate = PRIVATE_RATE
    return all(
        later - earlier >= (j - i) * rate.interval - rate.tolerance - lag
        for i, earlier in enumerate(times)
        for j, later in enumerate(times[i + 1 :], start=i + 1)
    )


async def tips_from_two_instances(world: World, tmp_path: Path, pacing: str) -> tuple[list[float], list[str]]:
    """Start two instances; students report at once; the officer's messages' times, and the logs."""
    officer = await world.enroll("maple")
    logs = [tmp_path / f"bot{n}.log" for n in (0, 1)]
    processes = await start_instances(world, tmp_path, TELEGRAM_PACING=pacing)
    try:
        students = await students_at_maple(world, STUDENTS)
        await world.emu.clear_calls()
        await asyncio.gather(*(world.emu.send_text(s.user, REPORT) for s in students))

        async def every_tip() -> list[float] | None:
            calls = await world.emu.calls("sendMessage", chat=officer, outcome="ok")
            return [call.at for call in calls] if len(calls) >= STUDENTS else None

        times = await eventually(every_tip, seconds=120, what="every tip sent")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            await asyncio.to_thread(process.wait, 30)
    return times, [log.read_text(errors="replace") for log in logs]


@pytest.mark.parametrize("test_database", ["postgresql"], indirect=True)
async def test_two_instances_pace_one_chat_together(pg_world: World, tmp_path: Path) -> None:
    times, logs = await tips_from_two_instances(pg_world, tmp_path, "true")
    assert all("bot.pacing_shared" in log for log in logs)  # both pace through the database
    assert all("delivery.sent" in log for log in logs)  # and both sent tips to the officer
    assert all("telegram.pacing_shared_failed" not in log for log in logs)
    assert paced(times, LAG), sorted(t - min(times) for t in times)
    # The chat's pace: a burst, then one a second, whichever instance sent each tip.
    assert max(times) - min(times) >= (len(times) - CHAT_BURST) * PRIVATE_RATE.interval - LAG


@pytest.mark.parametrize("test_database", ["postgresql"], indirect=True)
async def test_control_unpaced_the_same_check_sees_the_chat_flooded(pg_world: World, tmp_path: Path) -> None:
    """Positive control: unpaced, the instances send as fast as they can, and the check sees it."""
    times, logs = await tips_from_two_instances(pg_world, tmp_path, "false")
    assert all("delivery.sent" in log for log in logs)
    assert not paced(times, LAG), sorted(t - min(times) for t in times)
