"""End to end: long reports cannot silence a school, and nothing a student wrote is lost on the way.

Through the Bot API emulator (which refuses what Telegram refuses), the model's answers scripted
(tests/bot/scripted.py: what these tests check is the delivery, not the model's judgement):
- a sweep of long reports (3,800 to 4,096 characters in one message, and beyond across the
  interview's answers; emoji, `<`, `&`, `>`), each previewed whole and sent;
- then an urgent report still reaches the school's officer;
- the officer can read every word of every long report by joining its parts, and can answer
  by replying to any part; the officer was never marked unreachable; the emulator refused
  nothing the bot sent;
- with a backlog of long tips already queued, an urgent tip is the officer's first message;
- Send pressed again after a failure half-way opens one case.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from casework import officers
from casework.cases import intake
from devtools.emulator.client import User
from devtools.emulator.formatting import utf16_len
from devtools.emulator.views import Message
from storage.models import Case, CaseKind, Delivery, DeliveryKind
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, eventually, now
from tests.bot.scripted import ScriptedClassifier

# Benign words (no safety-net term) with the characters that broke tips: emoji, <, &, >.
PHRASES = [
    "kids keep vaping in the second floor washroom every lunch 😤 and the teacher says nothing. ",
    "they write <mean> notes & leave them on my desk >:( every single day 🙄 in math class. ",
    "a group of older students takes our table at lunch & pushes the younger kids <again>. ",
    "someone keeps drawing rude stuff on the lockers 🖍️👨‍👩‍👧 near the gym, it is not ok & nobody cleans it. ",
]
# What each phrase reports (the model's answer, scripted): drugs, bullying, bullying, vandalism.
PHRASE_INTENTS = ["report_drugs", "report_bullying", "report_bullying", "report_vandalism"]
LENGTHS = [3800, 3850, 3901, 3999, 4000, 4050, 4090, 4096]
GUN = "someone brought a gun to the caf today"


def words_of(length: int, seed: int) -> str:
    """About `length` UTF-16 units of a phrase, never more (Telegram's own limit for a student)."""
    phrase = PHRASES[seed % len(PHRASES)]
    text = phrase * (length // len(phrase) + 2)
    while utf16_len(text) > length:
        text = text[:-1]
    return text.rstrip() if text[-1] in "\u200d" else text


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def with_school(world: World) -> Student:
    student = await new_student(world)
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")
    return student


async def report(student: Student, first: str, answers: list[str]) -> tuple[str, str]:
    """Send a report, answer the interview with `answers` (typed), Skip/No the rest; the shown preview
    (all parts joined) and the case code."""
    message = await student.says(first)
    pending = list(answers)
    while "will be sent" not in message.text:
        buttons = [t for row in message.buttons for t, _ in row]
        if "Skip" in buttons and pending:
            message = await student.says(pending.pop(0))
        else:
            message = await student.taps(message, "Skip" if "Skip" in buttons else "No")
    shown = message.text
    while not message.buttons:  # a long preview comes in parts; Send is under the last
        message = await student.then()
        shown += "\n" + message.text
    sent = await student.taps(message, "✅ Send")
    code = CODE.search(sent.text)
    assert code, sent.text
    return shown, code.group()


def tips_by_reference(messages: list[Message]) -> dict[str, str]:
    """The officer's chat as tips: each case's parts joined, continuation lines dropped."""
    joined: dict[str, str] = {}
    for message in messages:
        text = message.text
        if found := re.match(r"↪ case (\S+), continued\n", text):
            joined[found.group(1)] += text[found.end() :]
        elif found := re.search(r"· case (\S+) ·", text):
            joined[found.group(1)] = text
    return joined


async def test_a_sweep_of_long_reports_then_an_urgent_one(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(GUN, "report_weapon")
    officer = await world.enroll("maple")
    written: list[str] = []
    async with world.running():
        for seed, length in enumerate(LENGTHS):
            student = await with_school(world)
            first = words_of(length, seed)
            script.says(first, PHRASE_INTENTS[seed % len(PHRASES)])
            answers = [words_of(4000, seed + 1), words_of(3900, seed + 2)] if seed % 3 == 0 else []
            shown, _code = await report(student, first, answers)
            for words in (first, *answers):
                assert squeeze(words) in squeeze(shown)  # the preview showed every word
            written.extend([first, *answers])
        urgent = await with_school(world)
        safety = await urgent.says(GUN)
        assert "911" in safety.text
        assert "Sent to your school officer" in (await urgent.then()).text
        tip = await eventually(lambda: _urgent_tip(world, officer), seconds=30)
        await eventually(lambda: _all_sent(world), seconds=60)
    assert "gun to the caf" in tip.text
    chat = await world.emu.messages(officer)
    tips = tips_by_reference(chat)
    everything = squeeze("".join(tips.values()))
    for words in written:
        assert squeeze(words) in everything  # the officer can read every word
    assert all(utf16_len(m.text) <= 4096 for m in chat)
    assert any(len([m for m in chat if ref in m.text]) > 1 for ref in tips)  # some tips did need parts
    assert await refused(world) == []  # the emulator refused nothing the bot sent
    async with world.database() as (db, _keys), db.transaction() as session:
        listed = {o.id: o for o in await officers.list_officers(session, now())}
    assert not listed[world.officers["maple"].id].unreachable


async def refused(world: World) -> list[str]:
    """What the emulator refused of what the bot sent (getUpdates is the bot's polling, not a send:
    the one left in flight at shutdown may meet the next poll)."""
    calls = await world.emu.calls(outcome="error")
    return [f"{c.method}: {c.description}" for c in calls if c.method.lower() != "getupdates"]


async def _command_parts(world: World, user: User, command: str) -> list[Message]:
    """Send a command; the bot's answer, every part up to the one carrying buttons."""
    before = len(await world.emu.messages(user))
    await world.emu.send_text(user, command)

    async def answered() -> list[Message] | None:
        new = (await world.emu.messages(user))[before:]
        return new if new and new[-1].buttons else None

    found: list[Message] = await eventually(answered, seconds=30)
    return found


async def _confirmation(world: World, officer: User) -> Message | None:
    return next((m for m in await world.emu.messages(officer) if "Sent to the student" in m.text), None)


async def _urgent_tip(world: World, officer: User) -> Message | None:
    return next((m for m in await world.emu.messages(officer) if "URGENT" in m.text), None)


async def _all_sent(world: World) -> bool:
    async with world.database() as (db, _keys), db.transaction() as session:
        rows = (await session.scalars(select(Delivery.status).where(Delivery.kind == DeliveryKind.TIP))).all()
    return all(status == "sent" for status in rows)


async def test_an_urgent_tip_goes_before_a_backlog_of_long_ones_and_any_part_takes_a_reply(
    scripted_world: World,
) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    async with world.database() as (db, keys), db.transaction() as session:
        backlog = [
            await intake.open_case(
                session, keys, world.policy(),
                school_id=world.school_ids["MRS"], kind=CaseKind.REPORT, intent="report_bullying",
                urgent=False,
                body={"what": words_of(4096, n), "where": words_of(3000, n + 1)}, notify_chat_id=None,
                now=now(),
            )
            for n in range(20)
        ]  # fmt: skip
        urgent = await intake.open_case(
            session, keys, world.policy(),
            school_id=world.school_ids["MRS"], kind=CaseKind.REPORT, intent="report_weapon", urgent=True,
            body={"what": "someone has a gun in the parking lot"}, notify_chat_id=None, now=now(),
        )  # fmt: skip
    # Positive control: the urgent tip is the newest row, so oldest-first would send it last.
    async with world.database() as (db, _keys), db.transaction() as session:
        newest = await session.scalar(select(func.max(Delivery.id)).where(Delivery.kind == DeliveryKind.TIP))
        first_row = await session.scalar(select(Delivery.id).where(Delivery.case_id == urgent.case_id))
    assert newest == first_row
    async with world.running():
        first = await world.emu.next_message(officer, timeout=30)
        await eventually(lambda: _all_sent(world), seconds=120)
        chat = await world.emu.messages(officer)
        # The first part of a long tip: not the one with the buttons.
        part = next(m for m in chat if "URGENT" not in m.text and "· case" in m.text and not m.buttons)
        await world.emu.reply_to(officer, part, "Thanks for telling us, we are looking into it.")
        confirmation = await eventually(lambda: _confirmation(world, officer), seconds=30)
        # /case and /status show a long case whole too, over several messages, buttons under the last.
        reference = re.search(r"· case (\S+) ·", part.text)
        assert reference
        thread = await _command_parts(world, officer, f"/case {reference.group(1)}")
        student = Student(world, await world.emu.user(first_name="Sam", started=True))
        status = await _command_parts(world, student.user, f"/status {backlog[0].code}")
    assert "gun in the parking lot" in first.text
    assert "URGENT" in first.text
    assert f"case {reference.group(1)}" in confirmation.text  # the reply to a first part went to its case
    assert "Sent to the student" in confirmation.text
    tips = tips_by_reference(chat)
    assert len(tips) == 21
    n = int(reference.group(1).split("-")[1]) - 1  # MRS-1 is backlog[0]
    for words in (words_of(4096, n), words_of(3000, n + 1), "we are looking into it"):
        assert squeeze(words) in squeeze(" ".join(m.text for m in thread))
    assert len(thread) > 1
    for words in (words_of(4096, 0), words_of(3000, 1)):
        assert squeeze(words) in squeeze(" ".join(m.text for m in status))
    assert len(status) > 1
    assert await refused(world) == []
    assert len(backlog) == 20


async def test_send_pressed_again_after_a_failure_half_way_opens_one_case(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(PHRASES[0] * 3, "report_drugs")
    officer = await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        message = await student.says(PHRASES[0] * 3)
        while "will be sent" not in message.text:
            buttons = [t for row in message.buttons for t, _ in row]
            message = await student.taps(message, "Skip" if "Skip" in buttons else "No")
        preview = message
        # The case is stored, then telling the student fails: the turn fails, the draft is kept.
        await world.emu.fail_server_error(times=1, method="sendMessage", chat=student.user)
        failed = await student.taps(preview, "✅ Send")
        assert "went wrong" in failed.text
        # Positive control: the draft really was kept, so the second press reaches Send again.
        again = await student.taps(preview, "✅ Send")
        code = CODE.search(again.text)
        assert code, again.text
        tip = await world.emu.next_message(officer, timeout=15)
        await eventually(lambda: _all_sent(world), seconds=30)
    assert "vaping" in tip.text
    async with world.database() as (db, keys), db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 1
        view_case = await intake.resolve_case_code(session, keys, code.group())
    assert len([m for m in await world.emu.messages(officer) if "vaping" in m.text]) == 1
    assert view_case.id is not None


SELF_HARM = "i want to kill myself"
SEND_TO_OFFICER = "📨 Send to the officer"


def note(number: int) -> str:
    """A 4,096-unit message (a full Telegram message) that says which it is."""
    return f"note{number}x " + words_of(4096 - len(f"note{number}x "), number)


def all_words(messages: list[Message]) -> str:
    """An officer's chat read in order, each part's "continued" line dropped, squeezed."""
    return squeeze("".join(re.sub(r"^↪ case \S+, continued\n", "", m.text) for m in messages))


async def hold_a_long_message(world: World, script: ScriptedClassifier) -> tuple[Student, list[Message]]:
    """A student's own crisis, held for the tap, then five full messages added to it (20,506 units of
    the 24,576 a report holds); the bot's answers to the five."""
    script.says(SELF_HARM, "report_self_harm")
    for number in range(1, 6):
        script.says(note(number), "report_bullying")
    student = await with_school(world)
    asked = await student.says(SELF_HARM)
    assert "not sent your message" in asked.text
    added = [await student.says(note(number)) for number in range(1, 6)]
    return student, added


async def test_a_held_message_grown_past_what_a_report_holds_is_refused_clearly_and_kept(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """A sixth full message would take the held report past 24,576 UTF-16 units: the student is told
    the limit, their size and what to do, it is not said to be added, the Send button stays, and the
    report as kept goes whole. Positive control: the five before it were added (and said so)."""
    world = scripted_world
    officer = await world.enroll("maple")
    async with world.running():
        student, added = await hold_a_long_message(world, script)
        script.says(note(6), "report_bullying")
        refused_answer = await student.says(note(6))
        sent = await student.taps(refused_answer, SEND_TO_OFFICER)
        assert CODE.search(sent.text), sent.text
        await eventually(lambda: _all_sent(world), seconds=60)
    assert all("I added that to your message" in a.text for a in added)
    assert "more than one report can hold" in refused_answer.text
    assert "24,576" in refused_answer.text
    size = re.search(r"it would be ([\d,]+)", refused_answer.text)
    assert size, refused_answer.text
    assert int(size.group(1).replace(",", "")) > 24_576  # what it would have been
    assert "nothing is lost" in refused_answer.text
    assert "I added that" not in refused_answer.text  # it was not
    assert [t for row in refused_answer.buttons for t, _ in row] == [SEND_TO_OFFICER, "Not now"]
    chat = await world.emu.messages(officer)
    everything = all_words(chat)
    for words in (SELF_HARM, *(note(n) for n in range(1, 6))):
        assert squeeze(words) in everything  # every word kept reached the officer
    assert "note6x" not in everything
    assert len(chat) > 1
    assert all(utf16_len(m.text) <= 4096 for m in chat)
    assert await refused(world) == []


async def test_weapon_words_after_a_long_held_message_send_everything_at_once(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """A threat to others typed while a long message is held: it goes at once, with the held words.
    Here both do not fit in one report: the threat goes first, as the urgent tip, and the held words
    follow in the same case as the student's addition, whole. (Before, the report failed to seal and
    the student was never told it was sent.)"""
    world = scripted_world
    threat = GUN + ". " + words_of(4096 - len(GUN) - 2, 3)
    script.says(threat, "report_weapon")
    officer = await world.enroll("maple")
    async with world.running():
        student, _added = await hold_a_long_message(world, script)
        safety = await student.says(threat)
        assert "911" in safety.text
        told = await student.then()
        assert "Sent to your school officer" in told.text
        await eventually(lambda: _all_sent(world), seconds=60)
        await eventually(lambda: _addition_sent(world), seconds=60)
    chat = await world.emu.messages(officer)
    assert "URGENT" in chat[0].text
    assert "gun to the caf" in chat[0].text  # the threat is the first thing the officer reads
    everything = all_words(chat)
    for words in (threat, SELF_HARM, *(note(n) for n in range(1, 6))):
        assert squeeze(words) in everything  # every word reached the officer
    assert any("The student wrote more" in m.text for m in chat)
    async with world.database() as (db, _keys), db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 1
    assert await refused(world) == []


async def _addition_sent(world: World) -> bool:
    async with world.database() as (db, _keys), db.transaction() as session:
        query = select(Delivery.status).where(Delivery.kind == DeliveryKind.STUDENT_REPLY)
        rows = (await session.scalars(query)).all()
    return bool(rows) and all(status == "sent" for status in rows)
