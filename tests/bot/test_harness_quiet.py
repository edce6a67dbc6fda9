"""Student.quiet waits for the bot to handle everything, then sees any reply: no timer involved."""

from __future__ import annotations

import pytest

from tests.bot.conftest import new_student
from tests.bot.harness import World


async def test_quiet_catches_a_reply_sent_after_it_was_called(scripted_world: World) -> None:
    """Positive control: the reply to /help has not been read, so quiet fails once the bot has sent it."""
    world = scripted_world
    async with world.running():
        student = await new_student(world)
        await world.emu.send_text(student.user, "/help")  # quiet is called before any reply exists
        with pytest.raises(AssertionError, match="should not have"):
            await student.quiet()


async def test_quiet_passes_once_every_reply_was_read(scripted_world: World) -> None:
    world = scripted_world
    async with world.running():
        student = await new_student(world)
        assert (await student.says("/help")).text
        await student.quiet()
