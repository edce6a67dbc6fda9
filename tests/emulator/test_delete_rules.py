"""deleteMessage as Telegram has it: in a private chat, any message under 48 hours old, and no older."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest

from devtools.emulator import Emulator
from devtools.emulator.botapi import DELETABLE_FOR_SECONDS


def age(emu: Emulator, chat_id: int, message_id: int, seconds: int) -> None:
    """Make a stored message `seconds` older, as if sent that long ago."""
    assert emu.server is not None  # an emulator in this process
    world = emu.server.world
    stored = world.message(world.chat(chat_id), message_id)
    assert stored is not None
    stored.data["date"] = int(stored.data["date"]) - seconds


async def test_a_message_is_deletable_for_48_hours_only(emu: Emulator) -> None:
    student = await emu.user(started=True)
    own = await emu.send_text(student, "something I wrote")
    async with emu.ptb_bot() as bot:
        fresh = await bot.send_message(student.id, "fresh")
        nearly = await bot.send_message(student.id, "47 hours and 59 minutes old")
        old = await bot.send_message(student.id, "two days old")
        old_too = await bot.send_message(student.id, "two days old as well")
        age(emu, student.id, nearly.message_id, DELETABLE_FOR_SECONDS - 60)
        age(emu, student.id, old.message_id, DELETABLE_FOR_SECONDS + 1)
        age(emu, student.id, old_too.message_id, DELETABLE_FOR_SECONDS + 1)
        assert await bot.delete_message(student.id, fresh.message_id)  # positive control
        assert await bot.delete_message(student.id, nearly.message_id)
        with pytest.raises(BadRequest, match="can't be deleted"):
            await bot.delete_message(student.id, old.message_id)
        # deleteMessages skips what it cannot delete, and deletes the rest (the student's own too).
        assert await bot.delete_messages(student.id, [old_too.message_id, own.message.message_id])
    state = {m.message_id: m.deleted for m in await emu.messages(student, include_user=True)}
    assert state[fresh.message_id]
    assert state[nearly.message_id]
    assert state[own.message.message_id]
    assert not state[old.message_id]
    assert not state[old_too.message_id]
