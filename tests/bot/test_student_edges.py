"""What students send besides plain messages: media, forwards, edits, floods, long text, odd commands.

Each gets a clear answer, nothing crashes, and a draft in progress survives. The model's answers
are scripted (what the real model answers); the flood test keeps the real model, since which of its
thirty messages get classified depends on the flood limit's timing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.student import sending
from storage.models import Case, IntakeUpdate
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, eventually
from tests.bot.scripted import ScriptedClassifier, location
from tests.bot.test_links_e2e import close_case

TAX = "someone keeps taking money from grade 9s at lunch, they call it tax"
SHOOT = "im going to shoot up the school tmrw"
LONG = ("a group of kids keeps vaping in the second floor washroom every lunch and " * 60)[:4096]
FRIEND_VAPES = "my friend is selling vapes in the portables"
VAPES = "someone is selling vapes behind the portables"
PENS = "some kids keep vaping and selling pens in the washroom"


async def with_school(world: World) -> Student:
    student = await new_student(world)
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")
    return student


async def test_media_forwards_locations_and_edits_get_a_clear_answer(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(TAX, "report_theft", confidence=0.96)
    await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        user, emu = student.user, world.emu
        asked = await student.says(TAX)
        assert "?" in asked.text

        await emu.send_sticker(user)
        assert "only read text" in (await student.then()).text
        await emu.send_voice(user)
        assert "a voice or a face" in (await student.then()).text  # refused with the reason (issue 12)
        await emu.send_document(user, "broken.jpg", b"\xff\xd8\xff\xe0 not a jpeg", mime_type="image/jpeg")
        assert "can't open that file" in (await student.then()).text
        await emu.send_document(user, "notes.txt", b"some notes")
        assert "only read text" in (await student.then()).text
        await emu.send_location(user)
        assert "location" in (await student.then()).text
        await emu.send_contact(user)
        assert "location or contacts" in (await student.then()).text
        await emu.forward(user, "lol look at this", hidden_name="Someone Else")
        assert "forwarded" in (await student.then()).text
        first = [m for m in await emu.messages(user, include_user=True) if not m.from_bot][-1]
        await emu.edit_text(user, first, "edited text")
        assert "edited" in (await student.then()).text

        # The draft survived all of it: the interview goes on where it was.
        message = await student.says("in the caf")
        while "will be sent" not in message.text:
            skip = any(t == "Skip" for row in message.buttons for t, _ in row)
            message = await student.taps(message, "Skip" if skip else "No")
        assert "call it tax" in message.text


@pytest.mark.parametrize("durable", [False, True], ids=["in-memory", "durable-inbox"])
async def test_an_urgent_forward_or_caption_is_acted_on(
    scripted_world: World, script: ScriptedClassifier, durable: bool
) -> None:
    """Durable: as `python -m bot` runs, the forward (here from a signed channel) is stored with its
    origin's names dropped, and what is left is still a forward, and urgent (bot.inbox.minimised)."""
    world = scripted_world
    script.says(SHOOT, "report_threat", confidence=0.99)
    officer = await world.enroll("maple")
    async with world.running(durable=durable):
        student = await with_school(world)
        if durable:
            channel = await world.emu.channel("Qorvath Gazette", username="qorvath_news")
            await world.emu.forward(student.user, SHOOT, from_chat=channel)
        else:
            await world.emu.forward(student.user, SHOOT, hidden_name="A Classmate")
        safety = await student.then()
        assert "911" in safety.text
        assert CODE.search((await student.then()).text)
        tip = await world.emu.next_message(officer, timeout=15)
        assert "shoot up the school" in tip.text
        for name in ("A Classmate", "Qorvath", "qorvath_news"):  # only the words travel, never who
            assert name not in tip.text  # forwarded or wrote them
    # Control: the durable run's updates went through the inbox; the in-memory run's did not.
    async with world.database() as (db, _keys), db.transaction() as session:
        stored = int(await session.scalar(select(func.count()).select_from(IntakeUpdate)) or 0)
    assert (stored > 0) == durable


async def test_message_at_telegrams_length_limit(scripted_world: World, script: ScriptedClassifier) -> None:
    world = scripted_world
    script.says(LONG, "report_drugs", confidence=0.72, entities=(location(LONG, "second floor washroom"),))
    officer = await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        long_text = LONG
        message = await student.says(long_text)
        while "will be sent" not in message.text:
            skip = any(t == "Skip" for row in message.buttons for t, _ in row)
            message = await student.taps(message, "Skip" if skip else "No")
        shown = message.text
        while not message.buttons:  # a long preview comes in parts, the buttons under the last
            message = await student.then()
            shown += message.text
        assert "".join(long_text.split()) in "".join(shown.split())  # every character, nothing cut
        sent = await student.taps(message, "✅ Send")
        assert CODE.search(sent.text)
        tip = await world.emu.next_message(officer, timeout=15)
        assert "vaping in the second floor washroom" in tip.text
        assert len(tip.text) <= 4096


@pytest.mark.rasa
async def test_flood_is_slowed_without_crash_or_lost_draft(world: World) -> None:
    await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        await student.says("a kid in my class keeps calling me names and shoving me")
        flood = [await world.emu.send_text(student.user, f"spam {i}") for i in range(30)]
        too_fast = await world.emu.wait_for(
            student.user, lambda m: "very fast" in m.text, after=flood[0], timeout=30
        )
        assert too_fast
        replies = [m for m in await world.emu.messages(student.user) if "very fast" in m.text]
        assert len(replies) == 1  # one notice, not one per message
        # An urgent message is never dropped by the flood limit: its own safety answer comes back
        # (the welcome's 911, sent before, does not count: the wait looks only at what follows).
        urgent = await world.emu.send_text(student.user, "wait he has a knife now in the hallway")
        safety = await world.emu.wait_for(student.user, lambda m: "911" in m.text, after=urgent, timeout=30)
        assert "911" in safety.text


async def test_commands_with_garbage_and_forget(scripted_world: World, script: ScriptedClassifier) -> None:
    world = scripted_world
    script.says(VAPES, "report_drugs", confidence=1.0, entities=(location(VAPES, "portables"),))
    await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        assert "don't know that command" in (await student.says("/launchmissiles now")).text
        assert "nothing to cancel" in (await student.says("/cancel please please")).text.lower()
        assert "doesn't look like a case code" in (await student.says("/status 💀💀💀")).text
        # After the bad /status the bot waits for a code: this is read as one (never classified).
        await student.says(FRIEND_VAPES)
        forgot = await student.says("/forget")
        assert "deleted what I had" in forgot.text
        # The school was forgotten too: a report now asks for it first.
        again = await student.says(VAPES)
        assert "Which school" in again.text or "school" in again.text
        privacy = await student.says("/privacy")
        assert "Telegram" in privacy.text
        assert "90 days" in privacy.text


async def test_a_report_typed_at_the_school_question_is_kept(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(PENS, "report_drugs", confidence=1.0, entities=(location(PENS, "washroom"),))
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        assert "Which school" in (await student.then()).text
        asked = await student.says(PENS)
        assert "which school" in asked.text.lower()
        chosen = await student.choose_school("maple", "Maple Ridge Secondary School")
        assert "Maple Ridge" in chosen.text
        message = await student.then()
        while "will be sent" not in message.text:
            skip = any(t == "Skip" for row in message.buttons for t, _ in row)
            message = await student.taps(message, "Skip" if skip else "No")
        assert "selling pens" in message.text


async def test_a_status_look_before_the_school_is_named_does_not_move_the_urgent_report(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Urgent, no school yet; then `/status` of another case; then /start and a school tapped. The
    school is the urgent report's, which reaches that school's officer; the other case is untouched.
    Before, /status had moved the state's case: the tap named the other case's school, and failed."""
    world = scripted_world
    script.says(SHOOT, "report_threat", confidence=0.99)
    maple, lakeshore = await world.enroll("maple"), await world.enroll("lakeshore")
    async with world.running():
        other = await new_student(world)
        await other.says("/start")
        await other.then()
        await other.choose_school("lakeshor", "Lakeshore Collegiate Institute")
        assert "911" in (await other.says(SHOOT)).text
        other_code = CODE.search((await other.then()).text)
        assert other_code is not None
        assert "shoot up" in (await world.emu.next_message(lakeshore, timeout=15)).text

        student = await new_student(world)
        assert "911" in (await student.says(SHOOT)).text
        assert CODE.search((await student.then()).text)
        assert "Which school" in (await student.then()).text
        assert "Your case" in (await student.says(f"/status {other_code.group()}")).text
        await student.says("/start")
        assert "Which school" in (await student.then()).text
        chosen = await student.choose_school("maple", "Maple Ridge Secondary School")
        assert "going to its officer now" in chosen.text
        tip = await world.emu.next_message(maple, timeout=15)
        assert "shoot up" in tip.text
        # The details asked next go to the urgent report, not to the case /status showed.
        assert "tell me more" in (await student.then()).text
        await student.says("he said it in the cafeteria")
        assert "cafeteria" in (await world.emu.next_message(maple, timeout=15)).text
        await world.settled()
        assert not [m for m in await world.emu.messages(lakeshore) if "cafeteria" in m.text]


THREATS = [
    f"{SHOOT} at the {place}" for place in ("gym", "library", "caf", "bus loop", "parking lot", "field")
]


async def case_count(world: World) -> int:
    async with world.database() as (db, _keys), db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


async def test_forwarded_danger_words_open_a_few_urgent_cases_then_are_added_to_the_last(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """A student forwards their own "shoot up the school" message again and again (with /done between,
    so each would start afresh). The first reports go as always (safety information, code, details);
    past the cap on new urgent cases, each forward goes to the last case as an addition, and the
    student is told so. Every forward reaches the officer. Before, each opened an urgent case."""
    world = scripted_world
    for threat in THREATS[:-1]:  # the last is an addition to the report under way: not classified
        script.says(threat, "report_threat", confidence=0.99)
    officer = await world.enroll("maple")
    cap = sending.URGENT_CASES.limit
    async with world.running():
        student = await with_school(world)
        for number, threat in enumerate(THREATS[:-1]):
            await world.emu.forward(student.user, threat, from_user=student.user)
            if number < cap:  # a first urgent report, unchanged
                assert "911" in (await student.then()).text
                assert CODE.search((await student.then()).text)
                assert "tell me more" in (await student.then()).text
            else:  # the safety information may come first, if a minute has passed since it was said
                added = await student.then()
                if "added this message" not in added.text:
                    assert "911" in added.text
                    added = await student.then()
                assert "added this message to your last" in added.text
                assert "911" in added.text  # every one still names 911 at once
                assert not CODE.search(added.text)  # no new case, so no new code
            if number < len(THREATS) - 2:
                assert "Thank you" in (await student.says("/done")).text
        # Without /done, a forward is added to the report under way, as typed words are.
        await world.emu.forward(student.user, THREATS[-1], from_user=student.user)
        added = await student.then()
        if "Added to your report" not in added.text:
            assert "911" in added.text
            added = await student.then()
        assert "Added to your report" in added.text

        async def all_delivered() -> bool:
            seen = "\n".join(m.text for m in await world.emu.messages(officer))
            return all(threat.split(" at ")[-1] in seen for threat in THREATS)

        assert await eventually(all_delivered)
    assert await case_count(world) == cap


GUN_BAG = "he has a gun in his bag right now"
GUN_LOT = "someone has a gun in the parking lot"


async def test_danger_words_while_a_report_waits_for_its_school_are_added_to_it(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Before, they were searched for as a school name: no safety information, and they went nowhere."""
    world = scripted_world
    script.says(SHOOT, "report_threat", confidence=0.99)
    script.says(GUN_BAG, "report_weapon", confidence=0.99)
    maple = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        assert "911" in (await student.says(SHOOT)).text
        assert CODE.search((await student.then()).text)
        assert "Which school" in (await student.then()).text
        added = await student.says(GUN_BAG)
        assert "added that to your report" in added.text
        assert "911" in added.text
        assert "Which school" in added.text  # the question still stands
        chosen = await student.choose_school("maple", "Maple Ridge Secondary School")
        assert "going to its officer now" in chosen.text

        async def both_delivered() -> bool:
            seen = "\n".join(m.text for m in await world.emu.messages(maple))
            return "shoot up" in seen and "gun in his bag" in seen

        assert await eventually(both_delivered)
    assert await case_count(world) == 1


async def test_danger_words_at_the_case_code_prompt_are_a_report(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Before, they were read as a mistyped case code: no safety information, nothing sent."""
    world = scripted_world
    script.says(GUN_LOT, "report_weapon", confidence=0.99)
    officer = await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        assert "code" in (await student.says("/status")).text
        assert "911" in (await student.says(GUN_LOT)).text
        assert CODE.search((await student.then()).text)
        assert "gun in the parking lot" in (await world.emu.next_message(officer, timeout=15)).text


async def test_words_typed_after_the_report_was_closed_are_not_dropped_silently(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Before, they were dropped without a word: the student believed the officer had them."""
    world = scripted_world
    script.says(SHOOT, "report_threat", confidence=0.99)
    officer = await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        assert "911" in (await student.says(SHOOT)).text
        assert CODE.search((await student.then()).text)
        assert "tell me more" in (await student.then()).text
        await close_case(world, officer)
        told = await student.says("he left through the back door")
        assert "case is closed" in told.text
