"""/forget end to end (emulator, real bot, scripted model): no row tied to the chat remains but its
rate-limit counts, and its messages go.

Positive controls: before /forget the same queries find the chat's rows and
its case's address; after it, another student's rows, address and messages
are untouched.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.student import handlers
from bot.turn import FloodLimit
from casework.cases import drafts, intake
from devtools.emulator.client import Message
from storage.models import Delivery, DeliveryKind, Draft, RateLimit
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, eventually
from tests.bot.scripted import ScriptedClassifier, entity, location

KNIFE = "a kid has a knife in his locker near room 204"
GUN = "someone brought a gun to the parking lot"
VAPES = "someone is selling vapes behind the portables"


async def report_and_opt_in(world: World, student: Student, text: str) -> str:
    """An urgent report to Maple Ridge with notifications on; returns the case code."""
    await student.says("/start")
    await student.then()
    await student.choose_school("maple ridge", "Maple Ridge Secondary School")
    safety = await student.says(text)
    assert "911" in safety.text
    sent = await student.then()
    code = CODE.search(sent.text)
    assert code, sent.text
    await student.then()  # "tell me more"
    offer = [m for m in await world.emu.messages(student.user) if "Want me to tell you" in m.text][-1]
    await world.emu.press(student.user, offer, "🔔 Yes, tell me")
    assert "let you know" in (await student.then()).text
    return code.group()


async def rows_of(world: World, chat_id: int, code: str) -> tuple[int, int, int | None]:
    """(draft rows, rate-limit rows, the case's notification chat) for one student's chat."""
    async with world.database() as (db, keys), db.transaction() as session:
        pseudonym = keys.pseudonym(chat_id)
        draft_rows = await session.scalar(
            select(func.count()).where(Draft.pseudonym.in_([pseudonym, drafts.messages_key(keys, pseudonym)]))
        )
        limit_rows = await session.scalar(select(func.count()).where(RateLimit.key == pseudonym))
        case = await intake.resolve_case_code(session, keys, code)
        address = await intake.notify_address(session, keys, case.id)
    return int(draft_rows or 0), int(limit_rows or 0), address


async def _notice_recorded(world: World) -> bool:
    async with world.database() as (db, _keys), db.transaction() as session:
        sent = await session.scalar(
            select(func.count()).where(
                Delivery.kind == DeliveryKind.NOTIFY_STUDENT, Delivery.telegram_message_id.is_not(None)
            )
        )
    return bool(sent)


async def test_forget_leaves_no_row_tied_to_the_chat_and_deletes_its_messages(
    scripted_world_both: World, script: ScriptedClassifier
) -> None:
    world = scripted_world_both
    # What the real model answers, the entities it tags included.
    script.says(
        KNIFE, "report_weapon", entities=(entity(KNIFE, "weapon", "knife"), location(KNIFE, "room 204"))
    )
    script.says(GUN, "report_weapon", entities=(entity(GUN, "weapon", "gun"), location(GUN, "parking lot")))
    script.says(VAPES, "report_drugs", entities=(location(VAPES, "portables"),))
    officer = await world.enroll("maple")
    async with world.running():
        student, other = await new_student(world), await new_student(world)
        code = await report_and_opt_in(world, student, KNIFE)
        other_code = await report_and_opt_in(world, other, GUN)

        # The officer answers the first student, who gets the discreet notice (deleted by /forget too).
        tip = await world.emu.wait_for(officer, lambda m: "room 204" in m.text, after=0, timeout=15)
        await world.emu.reply_to(officer, tip, "Thanks. I'm on my way to room 204.")
        assert "new message" in (await student.then(timeout=20)).text
        # Telegram shows the notice a moment before the bot records its id (what /forget deletes by).
        await eventually(lambda: _notice_recorded(world))

        # Positive control: the chat's rows and its case's address are there, and findable.
        drafts_before, limits_before, address_before = await rows_of(world, student.user.id, code)
        assert drafts_before >= 1
        assert limits_before >= 1
        assert address_before == student.user.id
        before: list[Message] = await world.emu.messages(student.user, include_user=True)
        assert len(before) >= 8
        assert not any(m.deleted for m in before)

        forgot = await student.says("/forget")
        assert "deleted what I had" in forgot.text
        assert "Delete chat" in forgot.text  # says how to remove what stays on the phone
        assert "48 hours" in forgot.text

        # The rate-limit counts stay until they expire (a pseudonym and counts, no content): else
        # /forget would be a way round every limit.
        assert await rows_of(world, student.user.id, code) == (0, limits_before, None)
        after = await world.emu.messages(student.user, include_user=True)
        assert [m.message_id for m in after if not m.deleted] == [forgot.message_id]
        assert len(after) == len(before) + 2  # nothing else was sent: /forget and its answer

        # Another student keeps everything.
        other_drafts, other_limits, other_address = await rows_of(world, other.user.id, other_code)
        assert other_drafts >= 1
        assert other_limits >= 1
        assert other_address == other.user.id
        assert not any(m.deleted for m in await world.emu.messages(other.user, include_user=True))

        # The forgotten chat is a new one: nothing is remembered of it, not even its school.
        again = await student.says(VAPES)
        assert "school" in again.text.lower()
        assert (await student.says(f"/status {code}")).text  # the case code still opens the case


async def test_forget_is_no_way_round_the_flood_limit(
    scripted_world: World, script: ScriptedClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """19 messages, /forget (the 20th), one more: slowed down. Before, /forget reset the count."""
    # The limit's own window, made long: which messages fall in it must not depend on the clock.
    monkeypatch.setattr(handlers, "FLOOD", FloodLimit(handlers.FLOOD_LIMIT, timedelta(hours=1)))
    world = scripted_world
    async with world.running():
        student = await new_student(world)
        for _ in range(handlers.FLOOD_LIMIT - 1):
            assert "what I can do" in (await student.says("/help")).text
        assert "deleted what I had" in (await student.says("/forget")).text
        slowed = await student.says("/help")
        assert "very fast" in slowed.text
