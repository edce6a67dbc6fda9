"""Students, end to end: the real bot, real HTTP to the Bot API emulator, the model scripted or real.

The conversation tests script the model's answer (what the real model answers, entities included:
tests/bot/scripted.py); the ones whose point is the real model's judgement of a student's words
(slang for a weapon, a crisis, sextortion) use the real Rasa server (`rasa`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Delivery, DeliveryKind, DeliveryStatus, IntentStat
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, World, eventually, record_transcript
from tests.bot.scripted import ScriptedClassifier, location

VAPING = "some grade 11s are vaping and selling carts in the washroom every day"
STEALING = "someone keeps stealing phones from the gym change room"
STEALING_MORE = "someone keeps stealing phones and airpods from the boys change room"
SHOW_ID = "do i have to show id if a cop stops me on the street"
POLICE_CHECK = "can i talk to the officer about getting a police check for volunteering"
PUSHING = "a guy in my class keeps pushing me into lockers and calling me names"


async def test_non_urgent_report_with_interview_and_preview(
    scripted_world_both: World, script: ScriptedClassifier
) -> None:
    world = scripted_world_both
    script.says(VAPING, "report_drugs", confidence=1.0, entities=(location(VAPING, "washroom"),))
    await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        welcome = await student.says("/start")
        assert "911" in welcome.text
        assert "Which school" in (await student.then()).text
        chosen = await student.choose_school("maple ridge", "Maple Ridge Secondary School")
        assert "Maple Ridge" in chosen.text

        where = await student.says(VAPING)
        # The description named the place and the time: the interview skips to what is missing.
        assert "danger" in where.text
        more = await student.taps(where, "No")
        assert "Anything else" in more.text
        preview = await student.says("they hang out near the back stairs")
        assert "will be sent" in preview.text
        assert "selling carts" in preview.text
        assert "back stairs" in preview.text
        assert [t for row in preview.buttons for t, _ in row] == ["✅ Send", "✏️ Edit", "✖️ Cancel"]

        sent = await student.taps(preview, "✅ Send")
        assert "Sent to your school officer" in sent.text
        assert CODE.search(sent.text), sent.text

        officer = world.officers["maple"].user
        assert officer is not None
        tip = await world.emu.next_message(officer, timeout=15)
        assert "Drugs" in tip.text
        assert "selling carts" in tip.text
        assert "Maple Ridge" in tip.text
        assert "URGENT" not in tip.text
        buttons = [t for row in tip.buttons for t, _ in row]
        assert buttons == ["✅ Acknowledge", "✍️ Reply", "✖️ Close"]
        await record_transcript(world, "report", {"Student": student.user, "Officer": officer})

    # One statistic per classified message (the report; interview answers are not classified):
    # school, intent, urgency and day, nothing else.
    async with world.database() as (db, _keys), db.transaction() as session:
        rows = (await session.execute(select(IntentStat))).scalars().all()
    assert [(r.school_id, r.intent, r.urgent, r.count) for r in rows] == [
        (world.school_ids["MRS"], "report_drugs", False, 1)
    ]


async def test_edit_then_send(scripted_world: World, script: ScriptedClassifier) -> None:
    world = scripted_world
    script.says("i need to report something", "report_other", confidence=1.0)
    script.says(STEALING, "report_theft", confidence=1.0, entities=(location(STEALING, "gym change room"),))
    await world.enroll("lakeshore")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("lakeshore", "Lakeshore Collegiate Institute")
        question = await student.says("i need to report something")
        assert "what happened" in question.text
        where = await student.says(STEALING)
        assert "Where" not in where.text or "happen" in where.text
        # Skip everything left, then fix the description in the preview.
        message = where
        while "will be sent" not in message.text:
            message = await student.taps(
                message, "Skip" if any(t == "Skip" for row in message.buttons for t, _ in row) else "No"
            )
        edit = await student.taps(message, "✏️ Edit")
        again = await student.taps(edit, "What happened")
        assert "what happened" in again.text
        preview = await student.says(STEALING_MORE)
        assert "airpods" in preview.text
        assert "will be sent" in preview.text
        sent = await student.taps(preview, "✅ Send")
        assert CODE.search(sent.text), sent.text


@pytest.mark.rasa
async def test_urgent_weapon_report_is_delivered_before_details_are_asked(world_both: World) -> None:
    world = world_both
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")

        safety = await student.says("theres a kid with a strap in his bag by the portables rn")
        assert "911" in safety.text
        sent = await student.then()
        assert CODE.search(sent.text), sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "URGENT" in tip.text
        assert "A weapon" in tip.text
        assert "strap" in tip.text
        assert [t for row in tip.buttons for t, _ in row] == [
            "✅ Acknowledge",
            "✍️ Reply",
            "✖️ Close",
            "⬆️ Escalate",
        ]
        details = await student.then()
        assert "tell me more" in details.text
        # The tip was in the officer's chat before the student was asked for details.
        assert tip.raw["date"] <= details.raw["date"]

        await student.says("he is wearing a red hoodie")
        addition = await world.emu.next_message(officer, timeout=15)
        assert "red hoodie" in addition.text
        done = await student.says("/done")
        assert "Thank you" in done.text
        await record_transcript(world, "urgent_weapon", {"Student": student.user, "Officer": officer})


@pytest.mark.rasa
async def test_self_harm_gets_crisis_resources_first(world: World) -> None:
    await world.enroll("maple")
    supervisor = await world.enroll("supervisor")
    async with world.running():
        student = await new_student(world)
        first = await student.says("i dont want to be alive anymore")
        assert "9-8-8" in first.text
        assert "1-800-668-6868" in first.text
        assert "686868" in first.text
        # The student's own crisis goes to police only with their tap (test_urgent_consent_e2e has
        # the checks that nothing is sent before it).
        assert "not sent your message" in first.text
        # Tapped, with no school yet: the report is stored (supervisors are sealed in), then the
        # school is asked.
        sent = await student.taps(first, "📨 Send to the officer")
        assert CODE.search(sent.text), sent.text
        school = await student.then()
        assert "Which school" in school.text
        # Control: the supervisors' tip is there, held back for the school's answer.
        assert await tips_to(world, "supervisor") == [DeliveryStatus.PENDING]
        # The student names the school in time: its officer gets the report, not the supervisor.
        await student.choose_school("maple", "Maple Ridge Secondary School")
        assert "tell me more" in (await student.then()).text
        tip = await world.emu.next_message(world.officers["maple"].user, timeout=15)  # type: ignore[arg-type]
        assert "alive anymore" in tip.text
        # Naming the school dropped the supervisors' held tip in the same transaction that queued
        # this one: nothing is left that could reach the supervisor later, and nothing did.
        assert await tips_to(world, "supervisor") == []
        assert await world.emu.messages(supervisor) == []
        await record_transcript(world, "self_harm", {"Student": student.user})


@pytest.mark.rasa
async def test_urgent_without_a_school_goes_to_the_supervisor_when_no_school_is_named(world: World) -> None:
    world.settings_overrides["school_answer_seconds"] = 2.0
    maple = await world.enroll("maple")
    supervisor = await world.enroll("supervisor")
    async with world.running():
        student = await new_student(world)
        await student.says("someone is threatening to post my nudes unless i pay him")
        sent = await student.then()
        assert "2 minutes" in sent.text
        assert "Which school" in (await student.then()).text
        tip = await world.emu.next_message(supervisor, timeout=20)
        assert "post my nudes" in tip.text
        assert "school not given" in tip.text
        # No school named: the school's officer has no tip, queued or sent.
        assert await tips_to(world, "maple") == []
        assert await world.emu.messages(maple) == []


async def test_question_for_the_officer(scripted_world: World, script: ScriptedClassifier) -> None:
    world = scripted_world
    script.says(SHOW_ID, "ask_officer", confidence=0.99)
    officer = await world.enroll("lakeshore")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("lakeshor", "Lakeshore Collegiate Institute")
        preview = await student.says(SHOW_ID)
        assert "question" in preview.text
        sent = await student.taps(preview, "✅ Send")
        assert CODE.search(sent.text), sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "A question" in tip.text
        assert "show id" in tip.text
        await record_transcript(world, "question", {"Student": student.user, "Officer": officer})


async def test_status_with_a_valid_and_an_invalid_code(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(POLICE_CHECK, "ask_officer", confidence=0.98)
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple ridge", "Maple Ridge Secondary School")
        preview = await student.says(POLICE_CHECK)
        sent = await student.taps(preview, "✅ Send")
        code = CODE.search(sent.text)
        assert code is not None
        await world.emu.next_message(officer, timeout=15)

        status = await student.says(f"/status {code.group().lower().replace('-', ' ')}")
        assert "Your case" in status.text
        assert "police check" in status.text
        assert "No answer yet" in status.text

        # One character changed: the check character catches the typo.
        typo = code.group()[:-3] + ("A" if code.group()[-3] != "A" else "B") + code.group()[-2:]
        bad = await student.says(f"/status {typo}")
        assert "typo" in bad.text
        garbage = await student.says("/status hello there")
        assert "doesn't look like a case code" in garbage.text
        await record_transcript(world, "status", {"Student": student.user})


async def test_refused_in_a_group_and_leaves(scripted_world: World) -> None:
    world = scripted_world
    async with world.running():
        someone = await world.emu.user(first_name="Kid", started=True)
        group = await world.emu.group("grade 10 chat")
        await world.emu.add_bot_to(group, someone)
        notice = await world.emu.next_message(group, timeout=15)
        assert "private chats" in notice.text
        assert await eventually(lambda: world.emu.calls(method="leaveChat"))
        await record_transcript(world, "group", {"Someone in the group": group})


async def test_bot_restart_mid_draft_loses_nothing(scripted_world: World, script: ScriptedClassifier) -> None:
    world = scripted_world
    script.says(PUSHING, "report_bullying", confidence=0.97)
    officer = await world.enroll("maple")
    student = await new_student(world)
    async with world.running():
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        asked = await student.says(PUSHING)
        assert "?" in asked.text
    # The bot stops (a deploy, a crash) with the draft half done, and comes back.
    async with world.running():
        message = await student.says("in the hallway by the library")
        while "will be sent" not in message.text:
            message = await student.taps(
                message, "Skip" if any(t == "Skip" for row in message.buttons for t, _ in row) else "No"
            )
        assert "pushing me into lockers" in message.text
        assert "library" in message.text
        sent = await student.taps(message, "✅ Send")
        assert CODE.search(sent.text), sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "pushing me into lockers" in tip.text
        await record_transcript(world, "restart", {"Student": student.user})


async def tips_to(world: World, officer: str) -> list[DeliveryStatus]:
    """The status of every tip queued for one officer (any case)."""
    async with world.database() as (db, _keys), db.transaction() as session:
        statuses = await session.scalars(
            select(Delivery.status).where(
                Delivery.officer_id == world.officers[officer].id, Delivery.kind == DeliveryKind.TIP
            )
        )
        return list(statuses)
