"""An update python-telegram-bot cannot parse is skipped: polling goes on for everyone else."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, ExtBot, MessageHandler, filters

from bot.resilient_bot import ResilientBot
from devtools.emulator import Emulator
from devtools.procs import eventually

# A message whose poll lacks what every poll has: python-telegram-bot raises while parsing it.
BROKEN = {"message_id": 1, "date": 1, "chat": {"id": 0, "type": "private"}, "poll": {"id": "1"}}


async def poll_until(bot: ExtBot[Any], until: Callable[[list[str]], object]) -> list[str]:
    """Poll the emulator with a real Application until `until()` holds; the texts handled."""
    handled: list[str] = []

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        handled.append(update.message.text or "")

    app = ApplicationBuilder().bot(bot).build()
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        await eventually(lambda: until(handled), seconds=30, what="the polling outcome")
        await app.stop()
        with contextlib.suppress(Exception):  # the control's stuck updater may fail to stop
            await app.updater.stop()
    return handled


async def fetched_again(emu: Emulator, times: int) -> bool:
    """The bot asked for updates `times` times since the bad one was queued, and got it each time."""
    return len(await emu.calls(method="getUpdates", outcome="ok")) >= times


async def queue_broken_then_text(emu: Emulator) -> None:
    student = await emu.user(first_name="Zorblaxina", started=True)
    assert emu.server is not None
    emu.server.world.push_update("message", {**BROKEN, "chat": {"id": student.id, "type": "private"}})
    await emu.send_text(student, "after the bad one")


async def test_an_unparseable_update_is_skipped_and_the_next_is_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Emulator() as emu:
        await queue_broken_then_text(emu)
        bot = ResilientBot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url)
        with caplog.at_level(logging.WARNING):
            handled = await poll_until(bot, bool)  # until a text is handled
        assert handled == ["after the bad one"]
        assert emu.server is not None
        assert emu.server.world.pending == []  # confirmed to Telegram: nothing to fetch again
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.resilient_bot"]
    assert warnings
    assert all(w.startswith("bot.update_unparseable error=") for w in warnings)
    assert not any("Zorblaxina" in r.getMessage() for r in caplog.records)


async def test_control_python_telegram_bots_own_bot_stalls_on_it() -> None:
    """Positive control: without the skip, the message after the bad update is never handled."""
    async with Emulator() as emu:
        await queue_broken_then_text(emu)
        bot: ExtBot[None] = ExtBot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url)
        logging.getLogger("telegram").disabled = True  # it logs the raw update at CRITICAL, in a loop
        try:
            # The explicit event: python-telegram-bot fetched the same batch again and again (the
            # bad update was never confirmed), not a time with nothing handled.
            handled = await poll_until(bot, lambda _handled: fetched_again(emu, times=3))
        finally:
            logging.getLogger("telegram").disabled = False
        assert handled == []
        assert emu.server is not None
        assert len(emu.server.world.pending) == 2  # the bad update and the text, neither confirmed
