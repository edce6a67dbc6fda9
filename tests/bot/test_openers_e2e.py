"""Vague and hesitant openers (issue 9, "Vague openers"), end to end with the real model: a warm nudge
to just type what happened, never an unrelated answer, a did-you-mean or crisis lines."""

from __future__ import annotations

import pytest

from devtools.emulator.views import Message
from tests.bot.conftest import new_student
from tests.bot.harness import Student, World, record_transcript

pytestmark = pytest.mark.rasa

# What the trial saw, and their kind: hesitation before telling, or a shrug with nothing asked.
OPENERS = (
    "idk if i should even say this",
    "ok whatever",
    "i dont know",
    "nvm",
    "can i tell u something",
    "this is probably nothing but",
    "im not sure i should be telling anyone",
)


def encourages(message: Message) -> bool:
    """The encouragement: type what happened, it's anonymous, nothing sent before Send, 911 if in danger
    (a hesitant opener may come before something urgent)."""
    text = message.text
    said = ("as much or as little", "type what happened", "anonymous", "tap Send", "call 911")
    return all(part in text for part in said)


def off_the_point(message: Message) -> list[str]:
    """The replies the trial got instead (an anonymity answer, a non sequitur, a guess, crisis lines)."""
    markers = {
        "anonymity answer": "I don't store them",
        "yes out of context": "what that's a yes to",
        "did you mean": "Did you mean",
        "crisis lines": "9-8-8",
        "school search": "couldn't find a school",
    }
    return [name for name, marker in markers.items() if marker in message.text]


async def at_school(student: Student) -> None:
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")


async def test_each_vague_opener_gets_encouragement(world: World) -> None:
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await at_school(student)
        for opener in OPENERS:
            reply = await student.says(opener)
            assert encourages(reply), (opener, reply.text)
            assert not off_the_point(reply), (opener, off_the_point(reply))
            assert not reply.buttons, opener
        # Positive control: the same checks tell other answers apart (a real question about
        # anonymity gets its answer, which is not the encouragement).
        anonymity = await student.says("is this anonymous")
        assert not encourages(anonymity)
        assert off_the_point(anonymity) == ["anonymity answer"]
        await student.quiet()


async def test_after_the_encouragement_the_next_message_is_read_afresh(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await at_school(student)
        assert encourages(await student.says("idk if i should even say this"))
        # The report that follows is understood on its own: a theft, whose place is already said.
        asked = await student.says("someone stole my phone in gym class")
        assert "When did it happen?" in asked.text
        message = asked
        while "will be sent" not in message.text:
            labels = [text for row in message.buttons for text, _ in row]
            message = await student.taps(message, "No" if "No" in labels else "Skip")
        assert "idk if i should" not in message.text  # the hesitation is not part of the report
        sent = await student.taps(message, "✅ Send")
        assert "Sent to your school officer" in sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "Theft or robbery" in tip.text
        assert "stole my phone in gym class" in tip.text
        await record_transcript(world, "vague_opener", {"Student": student.user, "Officer": officer})


async def test_a_hesitant_newcomer_at_the_school_question_is_encouraged(world: World) -> None:
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        assert "Which school" in (await student.then()).text
        # A sentence, not a school name: encouragement rather than "I couldn't find a school".
        reply = await student.says("idk if i should even say this")
        assert encourages(reply), reply.text
        assert not off_the_point(reply)
        # The report that follows asks for the school first, then goes on.
        school = await student.says("a kid keeps taking my lunch money at the plaza every day")
        assert "which school" in school.text.lower()


async def test_danger_still_gets_safety_information_at_once(world: World) -> None:
    """Positive control for the crisis-lines check above: a real crisis is not taken for hesitation."""
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await at_school(student)
        assert encourages(await student.says("this is probably nothing but"))
        crisis = await student.says("i dont want to be alive anymore")
        assert "crisis lines" in off_the_point(crisis)
        assert not encourages(crisis)
