"""Two bot instances on one PostgreSQL behind one webhook address, the emulator posting round-robin.

Each student names their school, then sends an urgent report and two more
messages without waiting: consecutive messages of one chat go to different
instances. Order holds across instances (the durable inbox hands out only the
earliest unhandled update of a chat), so the two messages are added to the
report, never taken for a new one. One instance is SIGKILLed mid-burst: the
other handles what it had claimed once its lease runs out, and the emulator's
posts to the dead one fail and go to the live one. Every student is answered,
no case is opened twice, and each tip reaches the officer once (the send a
kill interrupted aside).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select

from devtools.emulator.client import User
from devtools.procs import free_port
from storage.models import Case, IntakeUpdate
from tests.bot.conftest import _no_nlu, _world
from tests.bot.harness import CODE, Student, World, eventually
from tests.bot.test_delivery_faults import tips_by_case
from tests.storage.fixtures import TestDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

STUDENTS = 16
REPORT = "someone has a knife in the gym"
MORE = ["he is in grade 11 i think", "he showed it near the lockers"]
ADDED = "Added to your report"
ENV = {"INTAKE_LEASE_SECONDS": "2", "OUTBOX_STALE_SECONDS": "3", "TELEGRAM_PACING": "false"}


@pytest.fixture
async def pg_world(test_database: TestDatabase) -> AsyncIterator[World]:
    """The world on PostgreSQL; each bot process's model is its own fallback (no Rasa server)."""
    async for world in _world(test_database, *_no_nlu()):
        yield world


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def start_instances(world: World, tmp_path: Path, **env: str) -> list[subprocess.Popen[bytes]]:
    """Two bot instances behind one webhook address (the emulator posts to them in turn), listening;
    their logs are bot0.log and bot1.log in `tmp_path`."""
    secret = secrets.token_urlsafe(32)
    ports = [free_port(), free_port()]
    processes = [
        world.bot_process(
            tmp_path / f"bot{number}.log",
            WEBHOOK_URL="http://127.0.0.1:9/telegram",  # the shared address; the emulator posts round-robin
            WEBHOOK_SECRET=secret,
            WEBHOOK_LISTEN="127.0.0.1",
            PORT=str(port),
            **env,
        )
        for number, port in enumerate(ports)
    ]
    try:
        for port in ports:
            await eventually(functools.partial(listening, port), seconds=60, what="a bot instance")
        await world.emu.set_webhook_targets([f"http://127.0.0.1:{port}/telegram" for port in ports])
    except BaseException:
        for process in processes:
            process.kill()
        raise
    return processes


async def students_at_maple(world: World, count: int) -> list[Student]:
    """`count` students who named their school, one at a time (setting up is not what is measured)."""
    students = [Student(world, await world.emu.user(first_name="Sam", started=True)) for _ in range(count)]
    for student in students:
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
    return students


async def count(world: World, query: Select[Any]) -> int:
    async with world.database() as (db, _keys), db.transaction() as session:
        return int(await session.scalar(query) or 0)


async def texts(world: World, student: User) -> list[str]:
    return [message.text for message in await world.emu.messages(student)]


async def finished(world: World, student: User) -> bool:
    """Safety information, one case code, and both later messages added to the report."""
    seen = await texts(world, student)
    return any("911" in t for t in seen) and sum(ADDED in t for t in seen) == len(MORE)


@pytest.mark.parametrize("test_database", ["postgresql"], indirect=True)
async def test_two_instances_keep_each_chat_in_order_and_survive_a_sigkill(
    pg_world: World, tmp_path: Path
) -> None:
    world = pg_world
    officer = await world.enroll("maple")
    processes = await start_instances(world, tmp_path, **ENV)
    try:
        students = await students_at_maple(world, STUDENTS)

        async def burst(student: Student) -> None:
            for text in [REPORT, *MORE]:  # without waiting for answers: consecutive messages alternate
                await world.emu.send_text(student.user, text)

        await asyncio.gather(*(burst(s) for s in students))
        await eventually(
            lambda: count(world, select(func.count()).select_from(Case)), seconds=60, what="a case opened"
        )
    finally:
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=10)
    # Positive control: the kill came mid-burst (updates stored and not yet handled, students waiting).
    unhandled = select(func.count()).select_from(IntakeUpdate).where(IntakeUpdate.done.is_(False))
    assert await count(world, unhandled) > 0
    assert not all([await finished(world, s.user) for s in students])
    try:

        async def all_finished() -> bool:
            return all([await finished(world, s.user) for s in students])

        await eventually(all_finished, seconds=120, what="every conversation finished")

        async def every_tip() -> object:
            tips = await tips_by_case(world, officer)
            return tips if len(tips) == STUDENTS else None

        tips = await eventually(every_tip, seconds=120, what="every tip delivered")
        await eventually(lambda: _none(world, unhandled), seconds=30, what="every stored update handled")
    finally:
        processes[1].send_signal(signal.SIGTERM)
        await asyncio.to_thread(processes[1].wait, 30)
    assert await count(world, select(func.count()).select_from(Case)) == STUDENTS  # no case twice
    assert sum(n - 1 for n in tips.values()) <= 1, tips  # at most the send the kill interrupted
    for student in students:
        seen = await texts(world, student.user)
        assert (
            len({m.group() for t in seen if (m := CODE.search(t))}) == 1
        )  # one case code (told again after the kill)
    # Both instances took part: each handled students' messages before the kill.
    for number in (0, 1):
        assert "student.classified" in (tmp_path / f"bot{number}.log").read_text(errors="replace")


async def _none(world: World, query: Select[Any]) -> bool:
    return await count(world, query) == 0
