"""A wait looks only at what follows the action it waits on, never at what was on screen before."""

from __future__ import annotations

import pytest
from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from devtools.emulator import Emulator
from tests.emulator.conftest import Errors, build_app, polling


async def test_wait_for_ignores_messages_sent_before_the_action(emu: Emulator) -> None:
    app = build_app(emu)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert update.effective_message.text is not None
        await update.effective_message.reply_text(f"got: {update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    errors = Errors()
    async with polling(app, errors):
        student = await emu.user()
        first = await emu.send_text(student, "call 911 if in danger")
        # Positive control: the first reply does satisfy a wait that starts before it.
        seen = await emu.wait_for(student, lambda m: "911" in m.text, after=first, timeout=5)
        assert seen.text == "got: call 911 if in danger"
        second = await emu.send_text(student, "something else")
        # The same predicate after the second action: the earlier "911" on screen must not count.
        with pytest.raises(AssertionError, match=r"within 0\.5 s of the action"):
            await emu.wait_for(student, lambda m: "911" in m.text, after=second, timeout=0.5)
        later = await emu.wait_for(student, lambda m: "else" in m.text, after=second, timeout=5)
        assert later.text == "got: something else"
        mark = await emu.mark()
        with pytest.raises(AssertionError):
            await emu.wait_for(student, lambda m: True, after=mark, timeout=0.3)
    assert errors.seen == []
