"""Follow-ups and case labels, end to end (issue 9: "A follow-up typed right after reading a reply is
lost", "Too many codes"): the real bot, the real Rasa model, real HTTP to the Bot API emulator."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from casework.cases import labels
from storage.models import Case, CaseMessage
from tests.bot.conftest import new_student
from tests.bot.harness import World, record_transcript
from tests.bot.test_officer_e2e import case_number, report_urgent

pytestmark = pytest.mark.rasa

LABEL = re.compile(r"This case is called (.+?)\.")


async def _counts(world: World) -> tuple[int, int]:
    """How many cases, and how many messages in all of them."""
    async with world.database() as (db, _keys), db.transaction() as session:
        case_count = await session.scalar(select(func.count()).select_from(Case))
        message_count = await session.scalar(select(func.count()).select_from(CaseMessage))
    return int(case_count or 0), int(message_count or 0)


async def test_answer_typed_after_status_goes_to_the_case(world: World) -> None:
    """The officer asks; the student reads it with /status and types the answer without tapping
    "Answer the officer": one tap sends it to that case; no new case, no new interview.

    Before the fix the typed answer was classified as a new message (an interview question or an
    anonymity answer), so the 'Send this to the officer on your case' question never came.
    """
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        code = await report_urgent(student, "maple ridge", "Maple Ridge Secondary School",
                                   "a kid has a knife in his locker near room 204")  # fmt: skip
        tip = await world.emu.next_message(officer, timeout=15)
        sent = [m for m in await world.emu.messages(student.user) if "Your case code" in m.text][-1]
        named = LABEL.search(sent.text)
        assert named, sent.text  # the label is shown with the code
        label = named.group(1)
        assert label in labels.LABELS
        await world.emu.press(student.user, sent, "🔔 Yes, tell me")
        await student.then()

        await world.emu.press(officer, tip, "✍️ Reply")
        await world.emu.next_message(officer, timeout=15)
        await world.emu.send_text(officer, "Thank you. Which locker number is it?")
        assert "Sent to the student" in (await world.emu.next_message(officer, timeout=15)).text

        # The discreet notice says which case has news, by its label: no code, no content.
        notice = await student.then(timeout=20)
        assert f"new message about {label}" in notice.text
        assert "locker" not in notice.text
        assert code not in notice.text
        assert code.replace("-", "")[:4] not in notice.text

        status = await student.says(f"/status {code}")
        assert "Which locker number" in status.text
        assert f"This case is called {label}" in status.text
        before = await _counts(world)

        ask = await student.says("its locker 212 on the second floor")
        assert f"Send this to the officer on your case {label}?" in ask.text
        assert [t for row in ask.buttons for t, _ in row] == ["✅ Yes, send it", "No, it's something new"]
        added = await student.taps(ask, "✅ Yes, send it")
        assert "Added to your case" in added.text

        answer = await world.emu.next_message(officer, timeout=15)
        assert "locker 212" in answer.text
        assert f"case {case_number(tip)}" in answer.text
        # One more message in the same case; no new case.
        assert await _counts(world) == (1, before[1] + 1)

        # Something new, said so with one tap: read as a new message, the old case gets nothing.
        again = await student.says("someone is selling vapes in the 2nd floor washroom every day")
        assert "Send this to the officer on your case" in again.text
        fresh = await student.taps(again, "No, it's something new")
        assert "Added to your case" not in fresh.text
        assert "?" in fresh.text  # the new report's interview (or preview) begins
        assert await _counts(world) == (1, before[1] + 1)
        texts = [m.text for m in await world.emu.messages(student.user)]
        assert not any("Where did it happen" in t for t in texts[: texts.index(added.text) + 1])
        await record_transcript(world, "follow_up", {"Student": student.user, "Officer": officer})


async def test_a_typed_code_or_danger_is_never_held_for_the_tap(world: World) -> None:
    """Right after /status, a typed code is looked up and danger words go at once as usual."""
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        code = await report_urgent(student, "maple ridge", "Maple Ridge Secondary School",
                                   "a kid has a knife in his locker near room 204")  # fmt: skip
        await world.emu.next_message(officer, timeout=15)
        await student.says(f"/status {code}")
        shown = await student.says(f"my code is {code}")
        assert "Your case" in shown.text
        urgent = await student.says("he just pulled out a gun in the cafeteria")
        assert "911" in urgent.text
        assert "Send this to the officer on your case" not in urgent.text


async def test_answer_typed_right_after_the_notice_goes_to_the_case(world: World) -> None:
    """The reply notice alone (no /status yet) makes the next typed text an offer to that case."""
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await report_urgent(student, "maple ridge", "Maple Ridge Secondary School",
                            "a kid has a knife in his locker near room 204")  # fmt: skip
        tip = await world.emu.next_message(officer, timeout=15)
        sent = [m for m in await world.emu.messages(student.user) if "Your case code" in m.text][-1]
        named = LABEL.search(sent.text)
        assert named, sent.text
        await world.emu.press(student.user, sent, "🔔 Yes, tell me")
        await student.then()
        assert "Thank you" in (await student.says("/done")).text

        await world.emu.press(officer, tip, "✍️ Reply")
        await world.emu.next_message(officer, timeout=15)
        await world.emu.send_text(officer, "Can you come to room 101 at lunch?")
        assert "Sent to the student" in (await world.emu.next_message(officer, timeout=15)).text
        notice = await student.then(timeout=20)
        assert f"new message about {named.group(1)}" in notice.text
        before = await _counts(world)

        ask = await student.says("ok i can come at lunch")
        assert f"Send this to the officer on your case {named.group(1)}?" in ask.text
        assert "Added to your case" in (await student.taps(ask, "✅ Yes, send it")).text
        answer = await world.emu.next_message(officer, timeout=15)
        assert "come at lunch" in answer.text
        assert f"case {case_number(tip)}" in answer.text
        assert await _counts(world) == (1, before[1] + 1)
