"""No lost report: tips delivered through 429s, 5xx, dropped connections, 403s and a SIGKILL.

Every urgent report here is confirmed to the student as sent; each test
then proves its tip reached an officer, exactly once for every retried
send (the emulator counts the sendMessage calls it applied), with the one
exception a crash allows: the send it interrupted.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from casework import officers
from casework.cases import intake
from devtools.emulator.client import User
from storage.models import Case, CaseKind, Delivery, DeliveryStatus
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, eventually, now
from tests.conftest import RasaServer

pytestmark = pytest.mark.rasa

URGENT = [
    "a kid in grade 10 has a knife in his backpack",
    "someone brought a gun to the caf today",
    "this guy said he will shoot up the school tomorrow",
    "a guy has bear spray in his locker and says hes using it at lunch",  # at once, unlike self-harm
    "there is a guy with brass knuckles at the plaza after school",
    "someone has a machete in the parking lot",
]


async def urgent_reports(
    world: World, count: int, school: tuple[str, str] = ("maple", "Maple Ridge Secondary School")
) -> list[str]:
    """`count` students each send one urgent report; returns the codes they were given."""

    async def one(text: str) -> str:
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school(*school)
        await student.says(text)  # safety information
        sent = await student.then()
        code = CODE.search(sent.text)
        assert code, sent.text
        assert "Sent to your school officer" in sent.text
        return code.group()

    return list(await asyncio.gather(*(one(text) for text in URGENT[:count])))


async def tips_by_case(world: World, officer: User) -> Counter[str]:
    """How many tips of each case (by its reference) the officer's chat shows."""
    numbers = []
    for message in await world.emu.messages(officer):
        if "URGENT" in message.text and (found := re.search(r"case ([A-Z0-9]+-\d+)", message.text)):
            numbers.append(found.group(1))
    return Counter(numbers)


async def test_retry_after_server_errors_and_dropped_connections(world: World) -> None:
    officer = await world.enroll("maple")
    await world.emu.fail_retry_after(retry_after=1, times=2, method="sendMessage", chat=officer)
    await world.emu.fail_server_error(times=3, method="sendMessage", chat=officer)
    await world.emu.drop_connections(times=2, method="sendMessage", chat=officer)
    async with world.running():
        await urgent_reports(world, 5)
        tips = await eventually(lambda: _all_there(world, officer, 5), seconds=60)
    assert all(count == 1 for count in tips.values()), tips
    applied = await world.emu.calls(method="sendMessage", chat=officer, outcome="ok")
    assert len(applied) == len(await world.emu.messages(officer))  # nothing sent twice
    faulted = await world.emu.calls(method="sendMessage", chat=officer, outcome="fault")
    assert len(faulted) == 7  # every fault was actually hit and retried through


async def _all_there(world: World, officer: User, expected: int) -> Counter[str] | None:
    tips = await tips_by_case(world, officer)
    return tips if len(tips) == expected else None


async def test_403_marks_the_officer_unreachable_and_the_tip_goes_up_the_chain(world: World) -> None:
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    await world.emu.forbid(primary)  # the primary officer blocked the bot
    async with world.running():
        await urgent_reports(world, 2)
        try:
            tips = await eventually(lambda: _all_there(world, backup, 2), seconds=30)
        except AssertionError:
            raise AssertionError([m.text[:80] for m in await world.emu.messages(backup)]) from None
    assert all(count == 1 for count in tips.values())
    assert not await world.emu.messages(primary)
    async with world.database() as (db, _keys), db.transaction() as session:
        listed = {o.id: o for o in await officers.list_officers(session, now())}
    assert listed[world.officers["maple"].id].unreachable
    assert not listed[world.officers["maple_backup"].id].unreachable


async def test_a_tip_queued_for_an_officer_who_became_unreachable_goes_up_the_chain(world: World) -> None:
    """The race CI once hit: two tips to the same officer in one batch, the first answered 403.

    The second, rendered after the officer was marked unreachable, must be
    rerouted like the first, never marked failed. Made deterministic here:
    the tip is queued, then its officer becomes unreachable, then the bot starts.
    """
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    async with world.database() as (db, keys), db.transaction() as session:
        opened = await intake.open_case(
            session, keys, world.policy(),
            school_id=world.school_ids["MRS"], kind=CaseKind.REPORT, intent="report_weapon", urgent=True,
            body={"story": "someone has a knife in the gym"}, notify_chat_id=None, now=now(),
        )  # fmt: skip
        assert opened.delivered
    async with world.database() as (db, _keys), db.transaction() as session:
        await officers.mark_unreachable(session, world.officers["maple"].id, now())
    async with world.running():
        tips = await eventually(lambda: _all_there(world, backup, 1), seconds=30)
    async with world.database() as (db, _keys), db.transaction() as session:
        case = await session.get(Case, opened.case_id)
        assert case is not None
        reference = f"{case.reference_prefix}-{case.reference_number}"
    assert tips == Counter({reference: 1})
    assert not await world.emu.messages(primary)
    async with world.database() as (db, _keys), db.transaction() as session:
        rows = (await session.scalars(select(Delivery).where(Delivery.case_id == opened.case_id))).all()
    by_officer = {row.officer_id: row.status for row in rows}
    assert by_officer == {
        world.officers["maple"].id: DeliveryStatus.FAILED,  # rerouted, its reason kept
        world.officers["maple_backup"].id: DeliveryStatus.SENT,
    }


async def test_sigkill_with_tips_pending_loses_nothing(
    world: World, rasa_server: RasaServer, tmp_path: Path
) -> None:
    officer = await world.enroll("maple")

    def start(name: str) -> subprocess.Popen[bytes]:
        return world.bot_process(tmp_path / f"{name}.log", OUTBOX_STALE_SECONDS="3")

    # The officer's Telegram is failing: tips pile up in the outbox, retrying.
    fault = await world.emu.fail_server_error(seconds=600, method="sendMessage", chat=officer)
    first = start("first")
    try:
        await eventually(world.emu.bot_connected, seconds=60)
        codes = await urgent_reports(world, 4)
        assert len(set(codes)) == 4
        await asyncio.sleep(1.0)  # let the worker claim and fail a few times
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert not await tips_by_case(world, officer)  # nothing got through before the crash

    await world.emu.clear_faults(fault)
    second = start("second")
    try:
        tips = await eventually(lambda: _all_there(world, officer, 4), seconds=60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert all(count <= 2 for count in tips.values()), tips  # at most the interrupted send repeated
    assert sum(count - 1 for count in tips.values()) <= 1, tips


async def test_the_student_is_never_told_sent_when_nobody_exists(world: World) -> None:
    """Before any officer exists at all, nothing can be sealed: the student hears so, with crisis lines."""
    async with world.database() as (db, _keys), db.transaction() as session:
        for officer in world.officers.values():
            await officers.deactivate_officer(session, officer.id, now())
    async with world.running():
        student = Student(world, await world.emu.user(first_name="Alex", started=True))
        safety = await student.says("i want to kill myself")
        assert "9-8-8" in safety.text
        # Self-harm is sent only on the student's tap; tapped, the honest answer.
        honest = await student.taps(safety, "📨 Send to the officer")
        assert "couldn't send" in honest.text
        crisis = await student.then()
        assert "Kids Help Phone" in crisis.text
