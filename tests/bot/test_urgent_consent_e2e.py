"""Urgent messages, end to end: what goes to the officer at once, and what waits for the student's tap."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Case
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, World, record_transcript

pytestmark = pytest.mark.rasa

SEND = "📨 Send to the officer"
NOT_NOW = "Not now"


async def case_count(world: World) -> int:
    async with world.database() as (db, _keys), db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


def labels(message: object) -> list[str]:
    return [text for row in message.buttons for text, _ in row]  # type: ignore[attr-defined]


async def test_self_harm_shows_crisis_lines_and_is_sent_only_after_the_tap(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")

        asked = await student.says("i want to kill myself")
        assert "9-8-8" in asked.text
        assert "1-800-668-6868" in asked.text
        assert "686868" in asked.text
        assert "not sent your message" in asked.text
        assert labels(asked) == [SEND, NOT_NOW]
        # Nothing was stored for the officer, so nothing can reach them, and nothing has.
        assert await case_count(world) == 0
        assert await world.emu.messages(officer) == []

        sent = await student.taps(asked, SEND)
        assert CODE.search(sent.text), sent.text
        # The first thing in the officer's chat is this tip, after the tap (positive control: the
        # same database check now finds the case).
        tip = await world.emu.next_message(officer, timeout=15)
        assert "URGENT" in tip.text
        assert "kill myself" in tip.text
        assert await case_count(world) == 1
        details = await student.then()
        assert "tell me more" in details.text
        assert "where and when did this happen" not in details.text  # a crisis is not an incident
        assert "/done" in details.text
        await record_transcript(world, "self_harm_consent", {"Student": student.user, "Officer": officer})


async def test_no_tap_means_nothing_sent_and_exactly_one_reminder(world: World) -> None:
    world.settings_overrides["urgent_consent_reminder_minutes"] = 0.02  # about a second
    officer = await world.enroll("maple")
    async with world.running():
        first = await new_student(world)
        await first.says("/start")
        await first.then()
        await first.choose_school("maple", "Maple Ridge Secondary School")
        asked = await first.says("i dont want to be alive anymore")
        assert labels(asked) == [SEND, NOT_NOW]

        reminder = await first.then(timeout=20)
        assert "still not sent" in reminder.text
        assert "9-8-8" in reminder.text

        # A second student's reminder, due after the first one went, proves the job ran again
        # afterwards: the first student got no second reminder from that run.
        second = await new_student(world)
        await second.says("/start")
        await second.then()
        await second.choose_school("maple", "Maple Ridge Secondary School")
        await second.says("i keep thinking about ending it")
        assert "9-8-8" in (await second.then(timeout=20)).text
        await first.quiet(within=0.1)
        assert await case_count(world) == 0
        assert await world.emu.messages(officer) == []

        # The buttons still work after the reminder; Not now sends nothing.
        refused = await first.taps(asked, NOT_NOW)
        assert "did not send anything" in refused.text
        assert "9-8-8" in refused.text
        assert await case_count(world) == 0
        await record_transcript(world, "self_harm_no_tap", {"Student": first.user})


async def test_net_or_unsure_model_gets_safety_information_and_the_tap(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        # A foreboding only the safety net flags (a soft rule), the model finding no harm (DESIGN.md,
        # step 3: "a message only the safety net flagged while the model is unsure"). The trial's
        # "im scared to go to school tmrw" was such a message; the bilingual model now finds a threat
        # in it (report_threat above the fallback threshold), which by that rule goes at once.
        asked = await student.says("something bad is gonna happen at school tmrw")
        assert "911" in asked.text
        assert "1-800-668-6868" in asked.text
        assert labels(asked) == [SEND, NOT_NOW]
        assert await case_count(world) == 0

        # More words before the tap join the held message; still nothing is sent.
        held = await student.says("some kids said stuff in the group chat")
        assert "still not sent" in held.text
        assert await case_count(world) == 0

        sent = await student.taps(asked, SEND)
        assert CODE.search(sent.text), sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "bad is gonna happen" in tip.text
        assert "group chat" in tip.text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("my stepdad hits me when hes drunk", "stepdad hits me"),
        ("my coach keeps touching me and sending me pics", "touching me"),
    ],
)
async def test_abuse_and_sexual_harm_found_by_the_model_go_at_once(
    world: World, text: str, words: str
) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        safety = await student.says(text)
        assert "911" in safety.text
        assert labels(safety) == []  # no tap asked for
        tip = await world.emu.next_message(officer, timeout=15)
        assert "URGENT" in tip.text
        assert words in tip.text


async def test_only_the_net_fired_while_the_model_is_unsure_waits_for_the_tap(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        # The model reads this as a vague report; only the safety net's foreboding rule fires.
        asked = await student.says("something bad is going to happen tomorrow")
        assert "911" in asked.text
        assert labels(asked) == [SEND, NOT_NOW]
        assert await case_count(world) == 0
        sent = await student.taps(asked, SEND)
        assert CODE.search(sent.text), sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "something bad" in tip.text
