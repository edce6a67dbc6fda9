"""Small things in the student flow (issue 9), end to end: the Edit menu, stale buttons, /status."""

from __future__ import annotations

from devtools.emulator.views import Message
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, eventually
from tests.bot.scripted import ScriptedClassifier, location

STEALING = "someone keeps stealing phones from the gym change room"
PUSHING = "a guy in my class keeps pushing me into lockers and calling me names"
VAPING = "some grade 11s are vaping and selling carts in the washroom every day"


def buttons(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def current(world: World, student: Student, message: Message) -> Message:
    """The message as the student's phone shows it now (edits applied)."""
    return next(m for m in await world.emu.messages(student.user) if m.message_id == message.message_id)


async def keyboard_gone(world: World, student: Student, message: Message) -> bool:
    return not buttons(await current(world, student, message))


async def to_school(student: Student, typed: str, name: str) -> None:
    await student.says("/start")
    await student.then()
    await student.choose_school(typed, name)


async def test_the_edit_menu_offers_anyone_in_danger_now(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(STEALING, "report_theft", confidence=1.0, entities=(location(STEALING, "gym change room"),))
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await to_school(student, "maple", "Maple Ridge Secondary School")
        message = await student.says(STEALING)
        while "will be sent" not in message.text:
            message = await student.taps(message, "Skip")
        assert "Anyone in danger now" not in message.text  # skipped, so not in the preview
        menu = await student.taps(message, "✏️ Edit")
        assert "Anyone in danger now" in buttons(menu)
        question = await student.taps(menu, "Anyone in danger now")
        assert "in danger right now" in question.text
        preview = await student.taps(question, "No")
        assert "will be sent" in preview.text
        assert "Anyone in danger now: No" in preview.text


async def test_an_old_skip_button_is_answered_and_skips_nothing(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(PUSHING, "report_bullying", confidence=0.97)
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await to_school(student, "maple", "Maple Ridge Secondary School")
        where = await student.says(PUSHING)
        assert "Where" in where.text
        assert "Skip" in buttons(where)
        # The student types the answer instead of tapping: the Skip under "Where" is now stale.
        when = await student.says("in the hallway by the library")
        assert "When" in when.text

        press = await world.emu.press(student.user, where, "Skip")
        answer = await world.emu.callback_answer(press)
        assert answer.text is not None
        assert "earlier message" in answer.text
        # Its keyboard is taken away (the edit may wait for the rate limiter: wait for it, not a time).
        assert await eventually(lambda: keyboard_gone(world, student, where))

        # Positive control: the Skip under the question being asked still skips it.
        danger = await student.taps(when, "Skip")
        assert "in danger right now" in danger.text
        # Nothing was skipped by the old button: a chat's updates are handled in order, so anything
        # it sent would come before this answer; the only message after "When" is this answer.
        later = [m for m in await world.emu.messages(student.user) if m.message_id > when.message_id]
        assert [m.message_id for m in later] == [danger.message_id], [m.text for m in later]


async def test_status_labels_every_answer_and_offers_answer_the_officer_only_after_a_reply(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(VAPING, "report_drugs", confidence=1.0, entities=(location(VAPING, "washroom"),))
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await to_school(student, "maple", "Maple Ridge Secondary School")
        message = await student.says(VAPING)
        while "will be sent" not in message.text:
            message = await student.taps(message, "No" if "No" in buttons(message) else "Skip")
        sent = await student.taps(message, "✅ Send")
        code = CODE.search(sent.text)
        assert code is not None
        tip = await world.emu.next_message(officer, timeout=15)

        status = await student.says(f"/status {code.group()}")
        assert "selling carts" in status.text
        # The danger answer carries its label, as in the preview; never a bare "No".
        assert "Anyone in danger now: No" in status.text
        assert "What happened: some grade 11s" in status.text
        # No officer has written: nothing to answer yet.
        assert "✍️ Answer the officer" not in buttons(status)

        await world.emu.reply_to(officer, tip, "Thanks. Which washroom, near the gym or the library?")
        assert "Sent to the student" in (await world.emu.next_message(officer, timeout=15)).text
        again = await student.says(f"/status {code.group()}")
        assert "Which washroom" in again.text
        assert "✍️ Answer the officer" in buttons(again)
        prompt = await student.taps(again, "✍️ Answer the officer")
        assert "Type your answer" in prompt.text
