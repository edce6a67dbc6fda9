"""The officer handler group, through the real application and the emulator (no Rasa: nothing is classified).

Who reaches it (enrolled officers only, a student gets the student answer),
which callback data it takes (the rest is refused as a stale button, as
before), and where the officer's reply mode now lives (its own sealed table,
not the students' drafts).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from casework.cases import reading, reply_modes
from casework.cases.reply_modes import Replying
from casework.delivery import outbox
from devtools.emulator.client import Message, User
from storage.models import Direction, Draft, OfficerReplyMode
from tests.bot.harness import World, now
from tests.casework.world import open_report

NOT_YOURS = "isn't one of yours"
STALE = "That button is out of date"
UNKNOWN_COMMAND = "don't know that command"
OFFICER_HELP = "SRO Connect for officers"


@pytest.fixture
def world(scripted_world: World) -> World:
    """The fast tier's world (no Rasa server): an officer's update is never classified."""
    return scripted_world


async def says(world: World, user: User, text: str) -> Message:
    await world.emu.send_text(user, text)
    return await world.emu.next_message(user, timeout=15)


async def buttons_from_the_bot(world: World, user: User, data: list[str]) -> Message:
    """A message from the bot to `user` with one button per callback data, labelled with its data."""
    assert world.app is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in data])
    await world.app.bot.send_message(user.id, "buttons", reply_markup=markup)
    return await world.emu.next_message(user, timeout=15)


async def test_a_student_never_reaches_an_officer_handler(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        student = await world.emu.user(first_name="Sam", started=True)
        for command in ("/cases", "/case 1", "/close 1", "/reopen 1", "/CASES"):
            assert UNKNOWN_COMMAND in (await says(world, student, command)).text, command
            # The control: the same command from an enrolled officer reaches the officer side.
            assert UNKNOWN_COMMAND not in (await says(world, officer, command)).text, command
        assert "nothing to cancel" in (await says(world, student, "/cancel")).text
        assert "OK, cancelled" in (await says(world, officer, "/cancel")).text  # the control
        assert OFFICER_HELP in (await says(world, officer, "/help")).text
        assert OFFICER_HELP not in (await says(world, student, "/help")).text  # the student's own help

        # An officer's button in a student's chat: the student side's answer, never an officer action.
        sent = await buttons_from_the_bot(world, student, ["o:open:1"])
        press = await world.emu.press(student, sent, "o:open:1")
        answer = await world.emu.callback_answer(press)
        assert answer.text == "That button is from an earlier message."
        # The control: the same button in the officer's chat reaches the officer's case handler.
        mine = await buttons_from_the_bot(world, officer, ["o:open:1"])
        await world.emu.press(officer, mine, "o:open:1")
        assert NOT_YOURS in (await world.emu.next_message(officer, timeout=15)).text


async def test_malformed_callback_data_is_refused_as_before(world: World) -> None:
    officer = await world.enroll("maple")
    malformed = [
        "o",
        "o:ack",
        "o:ack:",
        "o:ack:abc",
        "o:ack:-1",
        "o:ack:1.5",
        "x:ack:1",
        "o:nothing:1",
        "o:closenow:1",
        "o:outcome:1",
        "o:outcome:1:nonsense",
        "o:closenow:1:RESOLVED",
    ]
    async with world.running():
        sent = await buttons_from_the_bot(world, officer, [*malformed, "o:open:1", "o:outcome:1:resolved"])
        for data in malformed:
            press = await world.emu.press(officer, sent, data)
            assert STALE in (await world.emu.next_message(officer, timeout=15)).text, data
            assert (await world.emu.callback_answer(press)).text is None  # answered: no spinner left
        # The control: well-formed data reaches the case handlers, which refuse a case not the officer's.
        for data in ("o:open:1", "o:outcome:1:resolved"):
            await world.emu.press(officer, sent, data)
            reply = await world.emu.next_message(officer, timeout=15)
            assert NOT_YOURS in reply.text, data
            assert STALE not in reply.text


async def test_an_officers_other_updates_stay_on_the_officer_side(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.running():
        assert OFFICER_HELP in (await says(world, officer, "/nonsense")).text
        assert OFFICER_HELP in (await says(world, officer, "/ cases")).text  # a slash, not a reply
        assert OFFICER_HELP in (await says(world, officer, "/status ABCD")).text  # not the student's
        assert "To answer a student" in (await says(world, officer, "hello")).text
        # /enroll is anyone's: it goes on to the enrollment handler (a new phone), officers' too.
        assert "/enroll followed by the code" in (await says(world, officer, "/enroll")).text
        # An edit and a sticker get nothing: the next answer in the chat is the one to /cases.
        before = len(await world.emu.messages(officer))
        typed = await world.emu.send_text(officer, "/cancel")
        await world.emu.next_message(officer, timeout=15)
        await world.emu.edit_text(officer, typed, "/cases")
        await world.emu.send_sticker(officer)
        listed = await says(world, officer, "/cases")
        assert "no open cases" in listed.text
        answers = [m.text for m in await world.emu.messages(officer)][before:]
        assert len(answers) == 2, answers  # "OK, cancelled." and the list: nothing for the edit or sticker


async def test_the_reply_mode_is_the_officers_own_sealed_row(world: World) -> None:
    officer = await world.enroll("maple")
    async with world.database() as (db, keys):
        opened = await open_report(
            db, keys, world.policy(), now(), world.school_ids["MRS"], "someone has a knife in the gym"
        )
    async with world.running():
        tip = await world.emu.next_message(officer, timeout=15)
        assert "knife" in tip.text
        await world.emu.press(officer, tip, "✍️ Reply")
        assert "Type your answer" in (await world.emu.next_message(officer, timeout=15)).text
        async with world.database() as (db, keys), db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Draft)) == 0
            modes = list(await session.scalars(select(OfficerReplyMode.officer_id)))
            assert modes == [world.officers["maple"].id]
            mode = await reply_modes.load(session, keys, modes[0], now())
        assert mode == Replying(opened.case_id)  # the control: the row is the mode Reply set
        assert "Sent to the student" in (await says(world, officer, "Thanks, on my way.")).text
        async with world.database() as (db, keys), db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(OfficerReplyMode)) == 0
        assert "To answer a student" in (await says(world, officer, "and one more")).text


async def test_a_reply_to_a_tip_whose_record_is_still_being_written_reaches_its_case(world: World) -> None:
    """Telegram shows the tip before the bot has recorded its message id; a reply in that moment waits."""
    officer = await world.enroll("maple")
    # The tip is applied at once, but Telegram's answer to the bot comes 3 s late: only then can the
    # bot record which message the tip is.
    await world.emu.delay(3.0, method="sendMessage", chat=officer, after_processing=True)
    async with world.database() as (db, keys):
        opened = await open_report(
            db, keys, world.policy(), now(), world.school_ids["MRS"], "someone keeps stealing phones in gym"
        )
    async with world.running():
        tip = await world.emu.next_message(officer, timeout=15)
        assert "phones" in tip.text
        async with world.database() as (db, _keys), db.transaction() as session:
            # The control: the reply below comes while nothing maps the tip's message to its case yet.
            officer_id = world.officers["maple"].id
            assert await outbox.case_of_sent_message(session, officer_id, tip.message_id) is None
            assert await outbox.sending_to(session, officer_id)
        await world.emu.reply_to(officer, tip, "Thanks, I'll look into it.")
        assert "Sent to the student" in (await world.emu.next_message(officer, timeout=15)).text
    async with world.database() as (db, keys), db.transaction() as session:
        thread = await reading.read_case_as_officer(session, keys, opened.case_id, officer_id)
    assert [m.body["text"] for m in thread.messages if m.direction == Direction.OFFICER] == [
        "Thanks, I'll look into it."
    ]
