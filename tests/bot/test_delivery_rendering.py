"""A message Telegram refuses for its content never silences an officer, and is never rerouted.

Each case is opened straight in the case store (deterministic), then the bot
runs against the emulator with a fault on the primary officer's chat:
- "can't parse entities" once: the tip is sent again as plain text, the officer stays reachable;
- refused twice (HTML and plain): the row fails, the supervisors get an alert with no content;
- "chat not found" (the positive control): the officer IS marked unreachable and the tip rerouted;
- a tampered ciphertext: failed and alerted once, not retried forever; an intact case still goes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot import delivery
from casework import officers
from casework.cases import intake
from casework.cases.intake import OpenedCase
from casework.delivery import alerts
from storage.models import AlertKind, Case, CaseKind, CaseMessage, Delivery, DeliveryKind, DeliveryStatus
from tests.bot.harness import Student, World, eventually, now

pytestmark = pytest.mark.rasa

SECRET = "pangolin-7"  # a word only the student wrote: it must never appear in an alert
CANT_PARSE = 'Bad Request: can\'t parse entities: unsupported start tag "x" at byte offset 12'


async def open_tip(
    world: World, text: str, *, urgent: bool = True, notify_chat_id: int | None = None
) -> OpenedCase:
    async with world.database() as (db, keys), db.transaction() as session:
        return await intake.open_case(
            session, keys, world.policy(),
            school_id=world.school_ids["MRS"], kind=CaseKind.REPORT,
            intent="report_weapon" if urgent else "report_bullying", urgent=urgent,
            body={"what": text, "where": "the gym <b> & stairs >"}, notify_chat_id=notify_chat_id, now=now(),
        )  # fmt: skip


async def reachable(world: World, key: str) -> bool:
    async with world.database() as (db, _keys), db.transaction() as session:
        listed = {o.id: o for o in await officers.list_officers(session, now())}
    return not listed[world.officers[key].id].unreachable


async def rows_of(world: World, case_id: int) -> list[Delivery]:
    async with world.database() as (db, _keys), db.transaction() as session:
        query = select(Delivery).where(Delivery.case_id == case_id, Delivery.kind != DeliveryKind.ALERT)
        return list((await session.scalars(query)).all())


async def alert_kinds(world: World) -> list[tuple[str, int | None]]:
    async with world.database() as (db, _keys), db.transaction() as session:
        return [(a.kind, a.case_id) for a in await alerts.list_alerts(session)]


async def test_a_refused_rendering_is_sent_again_as_plain_text_and_the_officer_stays(world: World) -> None:
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    await world.emu._fault("bad_request", primary, method="sendMessage", times=1, description=CANT_PARSE)
    opened = await open_tip(world, f"a knife in the locker room {SECRET} <3 & more")
    async with world.running():
        tip = await world.emu.next_message(primary, timeout=30)
        await eventually(lambda: _settled(world, opened.case_id), seconds=30)
    assert SECRET in tip.text
    assert "<3 & more" in tip.text
    assert tip.options.get("parse_mode") is None  # the safe form: no markup at all
    refused = await world.emu.calls(method="sendMessage", chat=primary, outcome="fault")
    assert len(refused) == 1  # the fault was really hit
    assert await reachable(world, "maple")
    assert not await world.emu.messages(backup)  # never rerouted
    assert [(r.officer_id, r.status) for r in await rows_of(world, opened.case_id)] == [
        (world.officers["maple"].id, DeliveryStatus.SENT)
    ]
    assert await alert_kinds(world) == []


async def test_positive_control_a_gone_chat_is_unreachable_and_rerouted(world: World) -> None:
    """The same 400, but saying the chat is gone: the classification tells the two apart."""
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    await world.emu._fault(
        "bad_request", primary, method="sendMessage", times=1, description="Bad Request: chat not found"
    )
    await open_tip(world, f"a knife in the locker room {SECRET}")
    async with world.running():
        tip = await world.emu.next_message(backup, timeout=30)
    assert SECRET in tip.text
    assert not await reachable(world, "maple")
    assert await reachable(world, "maple_backup")


async def test_refused_twice_fails_and_alerts_the_supervisors_without_content(world: World) -> None:
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    supervisor = await world.enroll("supervisor")
    await world.emu._fault("bad_request", primary, method="sendMessage", times=2, description=CANT_PARSE)
    opened = await open_tip(world, f"a knife in the locker room {SECRET}")
    async with world.running():
        notices = [await world.emu.next_message(supervisor, timeout=30)]
        notices.append(await world.emu.next_message(supervisor, timeout=30))
        await eventually(lambda: _failed(world, opened.case_id), seconds=30)
        await eventually(lambda: _alerts_sent(world, 2), seconds=30)
    texts = " ".join(n.text for n in notices)
    assert "refused" in texts
    assert "reached no officer" in texts
    assert SECRET not in texts
    assert "locker" not in texts
    assert len(await world.emu.calls(method="sendMessage", chat=primary, outcome="fault")) == 2
    assert await reachable(world, "maple")  # a healthy officer is never blamed for the content
    assert not await world.emu.messages(backup)  # never rerouted up the chain
    kinds = await alert_kinds(world)
    assert kinds == [
        (AlertKind.RENDERING_FAILED, opened.case_id),
        (AlertKind.NOBODY_REACHABLE, opened.case_id),
    ]
    async with world.database() as (db, _keys), db.transaction() as session:
        case = await session.get(Case, opened.case_id)
        assert case is not None
        assert case.nobody_reached


async def _settled(world: World, case_id: int) -> bool:
    return all(
        r.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED) for r in await rows_of(world, case_id)
    )


async def _alerts_sent(world: World, count: int) -> bool:
    async with world.database() as (db, _keys), db.transaction() as session:
        rows = (await session.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.ALERT))).all()
    return [r.status for r in rows] == [DeliveryStatus.SENT] * count


async def _failed(world: World, case_id: int) -> bool:
    return any(r.status == DeliveryStatus.FAILED for r in await rows_of(world, case_id))


async def test_a_tampered_message_fails_once_and_is_alerted(world: World) -> None:
    primary = await world.enroll("maple")
    supervisor = await world.enroll("supervisor")
    tampered = await open_tip(world, f"a knife in the locker room {SECRET}")
    intact = await open_tip(world, "someone has a gun in the parking lot")  # the positive control
    async with world.database() as (db, _keys), db.transaction() as session:
        message = await session.scalar(select(CaseMessage).where(CaseMessage.case_id == tampered.case_id))
        assert message is not None
        flipped = bytes([message.ciphertext[0] ^ 1]) + message.ciphertext[1:]
        await session.execute(
            update(CaseMessage).where(CaseMessage.id == message.id).values(ciphertext=flipped)
        )
    async with world.running():
        tip = await world.emu.next_message(primary, timeout=30)
        # Two alerts, sent concurrently: tampered, and then nobody reached.
        notices = [await world.emu.next_message(supervisor, timeout=30) for _ in range(2)]
        await eventually(lambda: _failed(world, tampered.case_id), seconds=30)
        await eventually(lambda: _settled(world, intact.case_id), seconds=30)
    assert "gun in the parking lot" in tip.text  # the intact case was delivered
    texts = " ".join(n.text for n in notices)
    assert "did not decrypt" in texts
    assert SECRET not in texts
    [row] = await rows_of(world, tampered.case_id)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 1)
    assert row.last_error in ("DecryptionError", "ForgedMessage")  # ForgedMessage: its MAC failed first
    assert (await alert_kinds(world)).count((AlertKind.TAMPERED_MESSAGE, tampered.case_id)) == 1
    assert [m.text for m in await world.emu.messages(primary)] == [tip.text]


async def test_the_student_told_sent_learns_that_nobody_could_receive_it(world: World) -> None:
    primary = await world.enroll("maple")
    await world.enroll("supervisor")
    student = Student(world, await world.emu.user(first_name="Sam", started=True))
    await world.emu._fault("bad_request", primary, method="sendMessage", times=2, description=CANT_PARSE)
    lost = await open_tip(world, f"a knife in the locker room {SECRET}", notify_chat_id=student.user.id)
    async with world.running():
        notice = await student.then(timeout=30)  # the opt-in notice, discreet
        assert "/status" in notice.text
        assert SECRET not in notice.text
        status = await student.says(f"/status {lost.code}")
        # Positive control: a case that did reach its officer says nothing of the kind.
        delivered = await open_tip(world, "someone has a gun in the parking lot")
        await world.emu.next_message(primary, timeout=30)
        control = await student.says(f"/status {delivered.code}")
    assert "did not reach an officer" in status.text
    assert "911" in status.text
    assert "did not reach an officer" not in control.text


async def test_a_tip_that_exhausts_its_retries_tells_the_student_and_the_supervisors(world: World) -> None:
    """Telegram failing (5xx) on a tip's last allowed attempt: the tip fails, and the case is not left
    "sent" in silence: it is marked reached by nobody, the supervisors are alerted, and the student
    who was told "Sent" learns it (notice, then /status). Positive control: a tip hitting the same
    server error with attempts left is retried and delivered, and its case says nothing of the kind."""
    primary = await world.enroll("maple")
    await world.enroll("supervisor")
    student = Student(world, await world.emu.user(first_name="Sam", started=True))
    lost = await open_tip(world, f"a knife in the locker room {SECRET}", notify_chat_id=student.user.id)
    retried = await open_tip(world, "someone has a gun in the parking lot")
    async with world.database() as (db, _keys), db.transaction() as session:
        last_try = delivery.MAX_ATTEMPTS - 1
        rows = update(Delivery).where(Delivery.case_id == lost.case_id)
        await session.execute(rows.values(attempts=last_try))
    # Two server errors on the primary's chat: the first hits the tip on its last attempt (claimed
    # first, the older row), the second the other tip on its first.
    await world.emu.fail_server_error(times=2, method="sendMessage", chat=primary)
    async with world.running():
        notice = await student.then(timeout=30)
        assert "/status" in notice.text
        assert SECRET not in notice.text
        status = await student.says(f"/status {lost.code}")
        control = await student.says(f"/status {retried.code}")
        tip = await world.emu.next_message(primary, timeout=30)
        await eventually(lambda: _settled(world, lost.case_id), seconds=30)
    assert len(await world.emu.calls(method="sendMessage", chat=primary, outcome="fault")) == 2
    assert "did not reach an officer" in status.text
    assert "did not reach an officer" not in control.text
    assert "gun in the parking lot" in tip.text  # the retried tip arrived
    assert [m.text for m in await world.emu.messages(primary)] == [tip.text]
    [row] = [r for r in await rows_of(world, lost.case_id) if r.kind == DeliveryKind.TIP]
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, delivery.MAX_ATTEMPTS)
    [control_row] = await rows_of(world, retried.case_id)
    assert (control_row.status, control_row.attempts) == (DeliveryStatus.SENT, 2)
    assert await alert_kinds(world) == [(AlertKind.NOBODY_REACHABLE, lost.case_id)]
    assert await reachable(world, "maple")  # Telegram's trouble is not the officer's
