"""Officers, end to end: enrollment, routed tips, acknowledgement, replies, escalation, isolation."""

from __future__ import annotations

import re

import pytest

from devtools.emulator.client import Message
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, record_transcript

pytestmark = pytest.mark.rasa


def buttons(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


def case_number(tip: Message) -> str:
    """The case reference a tip shows (`MRC-3`)."""
    found = re.search(r"case ([A-Z0-9]+-\d+)", tip.text)
    assert found, tip.text
    return found.group(1)


async def report_urgent(student: Student, school_typed: str, school: str, text: str) -> str:
    """A student picks a school and sends an urgent report; returns the case code."""
    await student.says("/start")
    await student.then()
    await student.choose_school(school_typed, school)
    safety = await student.says(text)
    assert "911" in safety.text or "9-8-8" in safety.text
    sent = await student.then()
    code = CODE.search(sent.text)
    assert code, sent.text
    await student.then()  # "tell me more"
    return code.group()


async def test_enrollment(world: World) -> None:
    async with world.running():
        phone = Student(world, await world.emu.user(first_name="Lee", started=True))
        no_code = await phone.says("/enroll")
        assert "/enroll followed by the code" in no_code.text
        garbage = await phone.says("/enroll hello")
        assert "doesn't look like an enrollment code" in garbage.text
        code = await world.invite("lakeshore")
        # A wrong first character: both the check and the old one it still accepts catch it, always
        # (a changed last character can, by chance, be the old check character of the same code).
        typo = ("B" if code[0] != "B" else "C") + code[1:]
        assert "typo" in (await phone.says(f"/enroll {typo}")).text
        enrolled = await phone.says(f"/enroll {code}")
        assert "enrolled" in enrolled.text
        assert "Cst. Lakeshore" in enrolled.text
        # One-time: the same code again is refused, even from another phone.
        other = Student(world, await world.emu.user(first_name="Other", started=True))
        assert "isn't valid" in (await other.says(f"/enroll {code}")).text
        # Enrolled, the officer gets the officer side: help, and free text is never a report.
        help_text = await phone.says("/help")
        assert "Acknowledge" in help_text.text
        hint = await phone.says("theres a kid with a knife in the caf")
        assert "tap <b>Reply</b>" in hint.raw.get("text", "") or "Reply" in hint.text
        assert "911" not in hint.text


async def test_urgent_report_ack_reply_and_answer(world_both: World) -> None:
    world = world_both
    officer = await world.enroll("maple")
    other_primary_school = await world.enroll("lakeshore")
    async with world.running():
        student = await new_student(world)
        code = await report_urgent(student, "maple ridge", "Maple Ridge Secondary School",
                                   "a kid has a knife in his locker near room 204")  # fmt: skip
        tip = await world.emu.next_message(officer, timeout=15)
        assert "URGENT" in tip.text
        assert "knife" in tip.text
        assert buttons(tip) == ["✅ Acknowledge", "✍️ Reply", "✖️ Close", "⬆️ Escalate"]
        # Nothing identifies the student in what the officer got.
        assert str(student.user.id) not in tip.raw.__repr__()
        assert student.user.first_name not in tip.text

        # The officer of another school received nothing: the positive control is the tip above.
        await world.emu.assert_no_message(other_primary_school, within=1.0)

        # The student opts in to notifications.
        offer = [m for m in await world.emu.messages(student.user) if "Want me to tell you" in m.text][-1]
        await world.emu.press(student.user, offer, "🔔 Yes, tell me")
        await student.then()

        await world.emu.press(officer, tip, "✅ Acknowledge")
        ack = await world.emu.next_message(officer, timeout=15)
        assert "is yours" in ack.text

        await world.emu.press(officer, tip, "✍️ Reply")
        prompt = await world.emu.next_message(officer, timeout=15)
        assert "Type your answer" in prompt.text
        await world.emu.send_text(
            officer, "Thank you. I'm at the school now. Stay in class, you did the right thing."
        )
        confirm = await world.emu.next_message(officer, timeout=15)
        assert "Sent to the student" in confirm.text

        notice = await student.then(timeout=20)
        assert "You have a new message" in notice.text
        assert "Stay in class" not in notice.text  # discreet: never the content

        status = await student.says(f"/status {code}")
        assert "Your school officer" in status.text
        assert "Stay in class" in status.text
        assert "Cst." not in status.text  # never the officer's identity
        answer_prompt = await student.taps(status, "✍️ Answer the officer")
        assert "Type your answer" in answer_prompt.text
        sent = await student.says("ok thank you, he went to the office")
        assert "Sent" in sent.text
        answer = await world.emu.next_message(officer, timeout=15)
        assert "he went to the office" in answer.text
        assert f"case {case_number(tip)}" in answer.text

        # Replying to the tip message itself also reaches the student.
        await world.emu.reply_to(officer, tip, "Good. Come by room 101 at lunch if you want to talk.")
        await world.emu.next_message(officer, timeout=15)
        assert "new message" in (await student.then(timeout=20)).text
        again = await student.says(f"/status {code}")
        assert "room 101" in again.text
        await record_transcript(world, "officer_reply", {"Student": student.user, "Officer": officer})

        # The other school's officer can't open the case either.
        await world.emu.send_text(other_primary_school, f"/case {case_number(tip)}")
        refused = await world.emu.next_message(other_primary_school, timeout=15)
        assert "isn't one of yours" in refused.text
        assert "knife" not in refused.text


async def test_escalation_to_backup_when_nobody_acknowledges(world: World) -> None:
    world.settings_overrides["urgent_ack_minutes"] = 0.05  # three seconds
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    async with world.running():
        student = await new_student(world)
        await report_urgent(student, "maple", "Maple Ridge Secondary School",
                            "someone said hes bringing a gun tomorrow to shoot people")  # fmt: skip
        tip = await world.emu.next_message(primary, timeout=15)
        assert "URGENT" in tip.text
        # The backup got nothing until the deadline passed...
        escalated = await world.emu.next_message(backup, timeout=30)
        assert "Escalated to you" in escalated.text
        assert "shoot" in escalated.text
        # ...and once the backup acknowledges, the chain stops and the primary is told.
        ack = await world.emu.press(backup, escalated, "✅ Acknowledge")
        await world.emu.next_message(backup, timeout=15)
        told = await world.emu.wait_for(
            primary, lambda m: "was acknowledged by" in m.text, after=ack, timeout=15
        )
        assert told


async def test_school_without_enrolled_officer_routes_to_supervisor(world: World) -> None:
    supervisor = await world.enroll("supervisor")
    lakeshore = await world.enroll("lakeshore")
    async with world.running():
        student = await new_student(world)
        await report_urgent(student, "north bay", "North Bay Heights High School",
                            "my dad hits me and im scared to go home tonight")  # fmt: skip
        tip = await world.emu.next_message(supervisor, timeout=15)
        assert "North Bay Heights" in tip.text
        assert "scared to go home" in tip.text
        await world.emu.assert_no_message(lakeshore, within=1.0)


async def test_nobody_enrolled_student_is_told_honestly(world: World) -> None:
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        preview = await student.says("is it illegal to ride an e-scooter on the sidewalk")
        waiting = await student.taps(preview, "✅ Send")
        assert "no officer can receive" in waiting.text
        assert "Sent to your school officer" not in waiting.text
        # The first officer to enroll gets it.
        officer = await world.enroll("maple")
        tip = await world.emu.next_message(officer, timeout=20)
        assert "e-scooter" in tip.text


async def test_a_student_cannot_use_officer_commands(world: World) -> None:
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        for command in ("/cases", "/case 1", "/close 1"):
            reply = await student.says(command)
            assert "don't know that command" in reply.text


async def test_unacknowledged_non_urgent_report_is_reminded_then_escalated(world: World) -> None:
    world.settings_overrides["remind_after_hours"] = 0.001  # 3.6 seconds
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        preview = await student.says("can the officer come talk to our class about online safety")
        assert "question for your school officer" in preview.text
        await student.taps(preview, "✅ Send")
        tip = await world.emu.next_message(primary, timeout=15)
        assert "online safety" in tip.text
        reminder = await world.emu.next_message(primary, timeout=30)
        assert "Reminder" in reminder.text
        assert "online safety" in reminder.text
        escalated = await world.emu.next_message(backup, timeout=30)
        assert "Escalated to you" in escalated.text
