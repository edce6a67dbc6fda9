"""Questions that fit (issue 9): what the first message already says (where, when, from the model's
entities and the message's words) is never asked again, in the interview or after an urgent report,
also when the school is chosen after the urgent report was sent. End to end with the real model."""

from __future__ import annotations

import pytest

from devtools.emulator.views import Message
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, record_transcript

pytestmark = pytest.mark.rasa

WHERE_QUESTION = "Where did it happen?"
WHEN_QUESTION = "When did it happen?"
DANGER_QUESTION = "Is anyone in danger right now?"


def asks(message: Message) -> set[str]:
    """Which of where and when a message asks for (an interview question or an urgent details prompt)."""
    text = message.text
    found = set()
    if WHERE_QUESTION in text or "where and when did this happen" in text or "where did this happen" in text:
        found.add("where")
    if WHEN_QUESTION in text or "where and when did this happen" in text or "when did this happen" in text:
        found.add("when")
    return found


async def at_school(student: Student) -> None:
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")


async def test_a_report_that_says_where_is_not_asked_where(world: World) -> None:
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await at_school(student)
        asked = await student.says("someone stole my phone in gym class")
        assert asks(asked) == {"when"}, asked.text
        danger = await student.says("yesterday after lunch")
        assert DANGER_QUESTION in danger.text
        # Positive control: a report that names no place is asked where (the check sees the question).
        await student.says("/cancel")
        control = await student.says("a guy in my grade keeps taking my stuff and laughing about it")
        assert "where" in asks(control), control.text


async def test_a_report_that_says_where_and_when_goes_straight_to_what_is_missing(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await at_school(student)
        asked = await student.says("a kid was pushed down the stairs at lunch today")
        assert asks(asked) == set(), asked.text
        assert DANGER_QUESTION in asked.text
        more = await student.taps(asked, "No")
        preview = await student.taps(more, "Skip")
        assert "will be sent" in preview.text
        assert "pushed down the stairs at lunch today" in preview.text
        sent = await student.taps(preview, "✅ Send")
        assert CODE.search(sent.text), sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "pushed down the stairs" in tip.text


async def test_an_opener_that_says_where_and_when_is_kept_and_not_asked_again(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await at_school(student)
        what = await student.says("something happened at the bus loop after school today")
        assert "what happened" in what.text
        danger = await student.says("a grade 12 took a kids phone and threw it on the road")
        assert asks(danger) == set(), danger.text
        assert DANGER_QUESTION in danger.text
        more = await student.taps(danger, "No")
        preview = await student.taps(more, "Skip")
        # The place and time the student gave first are in the report, before the description.
        assert "bus loop after school today" in preview.text
        assert "threw it on the road" in preview.text
        await student.taps(preview, "✅ Send")
        tip = await world.emu.next_message(officer, timeout=15)
        assert "bus loop after school today" in tip.text


async def test_urgent_details_ask_only_what_the_report_did_not_say(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await at_school(student)
        safety = await student.says("some guy has a gun in the caf")
        assert "911" in safety.text
        assert CODE.search((await student.then()).text)
        details = await student.then()
        assert "tell me more" in details.text
        assert asks(details) == {"when"}, details.text
        await world.emu.next_message(officer, timeout=15)
        await student.says("/done")

        # Positive control: an urgent report that names neither is asked both.
        await student.says("my friend has a knife in his bag")
        await student.then()
        general = await student.then()
        assert asks(general) == {"where", "when"}, general.text


async def test_choosing_the_school_after_an_urgent_report_confirms_and_asks_only_what_is_missing(
    world: World,
) -> None:
    officer = await world.enroll("maple")
    await world.enroll("supervisor")  # who holds a report sent before its school is known
    async with world.running():
        student = await new_student(world)
        # No /start, no school: the report is sent at once, then the school is asked.
        safety = await student.says("theres a kid with a knife by the portables rn")
        assert "911" in safety.text
        assert CODE.search((await student.then()).text)
        assert "Which school" in (await student.then()).text

        confirmed = await student.choose_school("maple", "Maple Ridge Secondary School")
        assert "Maple Ridge Secondary School" in confirmed.text
        assert "going to its officer" in confirmed.text  # the report was already sent: no new start
        details = await student.then()
        assert "tell me more" in details.text
        assert "/done" in details.text
        assert asks(details) == set(), details.text  # the portables, right now: both already said
        tip = await world.emu.next_message(officer, timeout=15)
        assert "portables" in tip.text
        added = await student.says("he has a grey hoodie")
        assert "Added to your report" in added.text
        assert "grey hoodie" in (await world.emu.next_message(officer, timeout=15)).text
        await record_transcript(world, "urgent_school_after", {"Student": student.user, "Officer": officer})


async def test_choosing_the_school_after_a_consented_crisis_does_not_ask_where_and_when(world: World) -> None:
    await world.enroll("maple")
    await world.enroll("supervisor")
    async with world.running():
        student = await new_student(world)
        asked = await student.says("i want to kill myself")
        sent = await student.taps(asked, "📨 Send to the officer")
        assert CODE.search(sent.text), sent.text
        assert "Which school" in (await student.then()).text
        await student.choose_school("maple", "Maple Ridge Secondary School")
        details = await student.then()
        assert "tell me more" in details.text
        assert asks(details) == set(), details.text


async def test_the_opener_is_kept_when_what_happened_is_skipped_or_turns_urgent(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        skipper = await new_student(world)
        await at_school(skipper)
        what = await skipper.says("something happened at the bus loop after school today")
        assert "what happened" in what.text
        danger = await skipper.taps(what, "Skip")
        assert asks(danger) == set(), danger.text
        more = await skipper.taps(danger, "No")
        preview = await skipper.taps(more, "Skip")
        assert "bus loop after school today" in preview.text  # the place and time are still sent

        urgent = await new_student(world)
        await at_school(urgent)
        await urgent.says("something happened at the bus loop after school today")
        safety = await urgent.says("a guy pulled a knife on my friend")
        assert "911" in safety.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "URGENT" in tip.text
        assert "bus loop after school today" in tip.text
        assert "pulled a knife" in tip.text
