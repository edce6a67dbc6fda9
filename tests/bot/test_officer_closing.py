"""Officers end to end: a closed case, reopening, a last message, and the officers' friction (issue 9)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework import audit
from devtools.emulator.client import Message, User
from storage.models import Case
from tests.bot.conftest import new_student
from tests.bot.harness import Student, World, eventually, record_transcript
from tests.bot.test_officer_e2e import buttons, case_number, report_urgent

pytestmark = pytest.mark.rasa


async def opt_in(world: World, student: Student) -> None:
    offer = [m for m in await world.emu.messages(student.user) if "Want me to tell you" in m.text][-1]
    await world.emu.press(student.user, offer, "🔔 Yes, tell me")
    await student.then()


async def officer_says(world: World, officer: User, text: str) -> Message:
    await world.emu.send_text(officer, text)
    return await world.emu.next_message(officer, timeout=15)


async def officer_taps(world: World, officer: User, message: Message, button: str) -> Message:
    await world.emu.press(officer, message, button)
    return await world.emu.next_message(officer, timeout=15)


async def audit_actions(world: World) -> list[str]:
    async with world.database() as (db, _keys), db.transaction() as session:
        return [e.action for e in await audit.list_events(session)]


async def test_a_reply_to_a_closed_case_is_not_sent_until_the_officer_reopens_it(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        code = await report_urgent(student, "maple ridge", "Maple Ridge Secondary School",
                                   "a kid has a knife in his locker near room 204")  # fmt: skip
        await opt_in(world, student)
        tip = await world.emu.next_message(officer, timeout=15)
        case = case_number(tip)

        outcomes = await officer_taps(world, officer, tip, "✖️ Close")
        assert f"How should case {case} be closed?" in outcomes.text
        last = await officer_taps(world, officer, outcomes, "Resolved")
        assert "last message" in last.text
        closed = await officer_taps(world, officer, last, "✖️ Close without a message")
        assert f"Case {case} is closed (Resolved)" in closed.text

        # The Reply button of the old tip: told at once that a reply would not be sent.
        refused = await officer_taps(world, officer, tip, "✍️ Reply")
        assert "would not be sent" in refused.text
        assert buttons(refused) == ["↩️ Reopen case"]

        # A Telegram reply to the tip: before issue 9 this said only "Case ... is closed."
        await world.emu.reply_to(officer, tip, "Are you safe now? Come see me at lunch.")
        not_sent = await world.emu.next_message(officer, timeout=15)
        assert "Nothing was sent" in not_sent.text
        assert f"/reopen {case}" in not_sent.text
        assert buttons(not_sent) == ["↩️ Reopen and send"]
        status = await student.says(f"/status {code}")
        assert "Come see me at lunch" not in status.text  # truly nothing went to the student
        assert "This case is closed" in status.text
        assert "did this help?" in (await student.then()).text  # asked once, after the close (issue 13)
        await student.quiet()

        reopened = await officer_taps(world, officer, not_sent, "↩️ Reopen and send")
        assert f"Case {case} is open again" in reopened.text
        assert "your message was sent" in reopened.text
        again = await student.says(f"/status {code}")
        assert "Come see me at lunch" in again.text  # the held message reached the student
        assert "working on it" in again.text
        assert "This case is closed" not in again.text
        assert "case.reopened" in await audit_actions(world)

        # Open again, a reply goes straight through; /reopen of an open case says so.
        await world.emu.reply_to(officer, tip, "I'm in room 101 all afternoon.")
        assert "Sent to the student" in (await world.emu.next_message(officer, timeout=15)).text
        assert "room 101" in (await student.says(f"/status {code}")).text
        assert "is not closed" in (await officer_says(world, officer, f"/reopen {case}")).text
        await record_transcript(world, "officer_closed_reply", {"Officer": officer, "Student": student.user})


async def test_reopen_by_command_after_a_typed_close(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await report_urgent(student, "maple ridge", "Maple Ridge Secondary School",
                            "someone is threatening to stab a kid after school")  # fmt: skip
        tip = await world.emu.next_message(officer, timeout=15)
        case = case_number(tip)
        outcomes = await officer_says(world, officer, f"/close {case}")
        last = await officer_taps(world, officer, outcomes, "Referred")
        await officer_taps(world, officer, last, "✖️ Close without a message")
        escalate = await officer_taps(world, officer, tip, "⬆️ Escalate")
        assert "nothing was changed" in escalate.text
        assert buttons(escalate) == ["↩️ Reopen case"]
        reopened = await officer_says(world, officer, f"/reopen {case}")
        assert f"Case {case} is open again" in reopened.text
        listed = await officer_says(world, officer, "/cases")
        assert case in listed.text
        assert "In progress, with you" in listed.text


async def test_closing_with_a_last_message_notifies_the_student_first(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        code = await report_urgent(student, "maple ridge", "Maple Ridge Secondary School",
                                   "a kid has a knife in his locker near room 204")  # fmt: skip
        await opt_in(world, student)
        tip = await world.emu.next_message(officer, timeout=15)
        case = case_number(tip)
        outcomes = await officer_taps(world, officer, tip, "✖️ Close")
        last = await officer_taps(world, officer, outcomes, "Resolved")
        await world.emu.send_text(officer, "We found it and dealt with it. Thank you for telling us.")
        closed = await world.emu.next_message(officer, timeout=15)
        assert f"Case {case} is closed (Resolved)" in closed.text
        assert "last message was sent" in closed.text
        assert last.message_id < closed.message_id

        notice = await student.then(timeout=20)
        assert "You have a new message" in notice.text
        assert "dealt with it" not in notice.text  # discreet, like every notice
        status = await student.says(f"/status {code}")
        assert "We found it and dealt with it" in status.text
        assert "This case is closed" in status.text
        assert "start a new report any time" in status.text
        assert "No answer yet" not in status.text
        assert buttons(status) == []  # nothing to answer in a closed case

        # The address was kept only for that notice: gone now.
        async def address_gone() -> bool:
            async with world.database() as (db, _keys), db.transaction() as session:
                sealed = await session.scalar(select(Case.notify_address_sealed))
            return sealed is None

        await eventually(address_gone)
        await record_transcript(
            world, "officer_close_last_message", {"Officer": officer, "Student": student.user}
        )


async def test_headers_who_acknowledged_and_the_officer_a_case_went_past(world: World) -> None:
    world.settings_overrides["urgent_ack_minutes"] = 0.05  # three seconds
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    async with world.running():
        # A non-urgent tip: its header has no dangling separator.
        asker = await new_student(world)
        await asker.says("/start")
        await asker.then()
        await asker.choose_school("maple", "Maple Ridge Secondary School")
        preview = await asker.says("can the officer come talk to our class about online safety")
        await asker.taps(preview, "✅ Send")
        question = await world.emu.next_message(primary, timeout=15)
        assert question.text.startswith("📩 A question"), question.text
        assert "📩 ·" not in question.text
        await world.emu.press(primary, question, "✅ Acknowledge")
        await world.emu.next_message(primary, timeout=15)

        student = await new_student(world)
        before = await world.emu.mark()
        await report_urgent(student, "maple", "Maple Ridge Secondary School",
                            "someone said hes bringing a gun tomorrow to shoot people")  # fmt: skip
        tip = await world.emu.wait_for(primary, lambda m: "URGENT" in m.text, after=before, timeout=15)
        assert tip.text.startswith("🚨 URGENT · A "), tip.text  # the separator stays where it separates
        case = case_number(tip)
        escalated = await world.emu.next_message(backup, timeout=30)
        assert "Escalated to you" in escalated.text
        # The primary is told the case went past them, to whom, and why.
        passed = await world.emu.wait_for(primary, lambda m: "passed on" in m.text, after=before, timeout=30)
        assert f"Case {case} was passed on to the backup officers" in passed.text
        assert "because nobody acknowledged it in 1 minute" in passed.text
        await world.emu.assert_no_message(backup, within=0.5)  # the backup gets the tip, not the notice

        ack = await world.emu.press(backup, escalated, "✅ Acknowledge")
        await world.emu.next_message(backup, timeout=15)
        await world.emu.wait_for(primary, lambda m: "was acknowledged by" in m.text, after=ack, timeout=15)
        asked = await world.emu.send_text(primary, "/cases")
        listed = await world.emu.wait_for(primary, lambda m: "open cases" in m.text, after=asked, timeout=15)
        assert f"🚨 {case} · " in listed.text
        assert "Acknowledged by Cst. Maple Backup" in listed.text
        assert "Acknowledged by you" in listed.text  # the question the primary took
        await record_transcript(world, "officer_passed_on", {"Primary": primary, "Backup": backup})
