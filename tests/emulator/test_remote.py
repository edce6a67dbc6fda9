"""The emulator from another process: the control endpoints, `python -m devtools.emulator`, the chat."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import subprocess
import sys

import pytest
from rich.console import Console
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from devtools.emulator import Emulator
from devtools.emulator.chat import ChatSession
from devtools.procs import eventually
from tests.conftest import ROOT
from tests.emulator.conftest import Errors, build_app, polling


async def welcome(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Report", callback_data="report")]])
    await update.effective_message.reply_text(
        "<b>Welcome.</b> What now?", parse_mode="HTML", reply_markup=keyboard
    )


async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Noted")
    await query.edit_message_text("Tell me what happened.")


async def test_a_remote_client_drives_the_emulator_over_http(emu: Emulator) -> None:
    app = build_app(emu)
    app.add_handler(CommandHandler("start", welcome))
    app.add_handler(CallbackQueryHandler(chosen))
    errors = Errors()
    remote = await Emulator.connect(emu.url)
    try:
        assert remote.base_url == emu.base_url
        assert remote.token == emu.token
        assert remote.server is None
        async with polling(app, errors):
            student = await remote.user(label="student")
            await remote.send_text(student, "/start")
            message = await remote.next_message(student)
            press = await remote.press(student, message, 0)
            answer = await remote.callback_answer(press)
            edited = await remote.wait_for(student, lambda m: m.edited, after=press)
            await remote.drop_connections(times=1, chat=student, method="sendMessage")
            assert [f["kind"] for f in await remote.faults()] == ["drop"]
    finally:
        await remote.stop()
    assert errors.seen == []
    assert message.text == "Welcome. What now?"
    assert message.buttons == [[("Report", "report")]]
    assert answer.text == "Noted"
    assert edited.text == "Tell me what happened."
    assert [u.label for u in await emu.users()] == ["student"]


async def test_next_message_timeout_says_what_was_received(emu: Emulator) -> None:
    student = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        await bot.send_message(student.id, "first")
        await bot.send_message(student.id, "second")
        await emu.next_message(student)
        with pytest.raises(BadRequest):  # the failed call is what the report must show
            await bot.send_message(student.id, "<b>broken", parse_mode="HTML")
    await emu.next_message(student)
    with pytest.raises(AssertionError) as timed_out:
        await emu.next_message(student, timeout=0.1)
    report = str(timed_out.value)
    assert "no new message within 0.1 s" in report
    assert "#1 'first'" in report
    assert "#2 'second'" in report
    assert "sendMessage: 400 Bad Request: can't parse entities" in report
    assert "No bot is polling" in report


def test_standalone_emulator_prints_its_urls_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "devtools.emulator", "--port", "0"]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            first = process.stdout.readline()
            found = re.match(
                r"Bot API emulator: base_url=(http://127\.0\.0\.1:\d+/bot) base_file_url=\S+", first
            )
            assert found, first
            url = found.group(1).removesuffix("/bot")
            assert asyncio.run(converse_remotely(url)) == "hello from afar"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0  # it ends cleanly on SIGTERM (a guard, not a limit)
            assert process.stderr.read() == ""
        finally:
            if process.poll() is None:
                process.kill()


async def converse_remotely(url: str) -> str:
    remote = await Emulator.connect(url)
    try:
        student = await remote.user(started=True)
        async with remote.ptb_bot() as bot:
            await bot.send_message(student.id, "hello from afar")
        return (await remote.next_message(student, timeout=2.0)).text
    finally:
        await remote.stop()


async def test_the_terminal_chat_shows_messages_and_presses_buttons(emu: Emulator) -> None:
    app = build_app(emu)
    app.add_handler(CommandHandler("start", welcome))
    app.add_handler(CallbackQueryHandler(chosen))
    output = io.StringIO()
    console = Console(file=output, width=100, color_system=None)
    remote = await Emulator.connect(emu.url)
    session = ChatSession(remote, console)
    errors = Errors()
    try:
        async with polling(app, errors):
            await session.load_accounts()
            follower = asyncio.create_task(session.follow())
            mark = await emu.mark()
            await session.handle("/start")
            await emu.wait_for(session.accounts["student"].user, lambda m: bool(m.buttons), after=mark)
            await eventually(lambda: "[1] Report" in output.getvalue(), what="the buttons shown")
            mark = await emu.mark()
            await session.handle("1")
            await emu.wait_for(session.accounts["student"].user, lambda m: m.edited, after=mark)
            await session.handle(":as officer Smith")
            mark = await emu.mark()
            await session.handle("/start")  # as the officer
            await emu.wait_for(session.accounts["officer Smith"].user, lambda m: True, after=mark)
            await session.handle(":as student")
            await session.handle(":accounts")
            assert not await session.handle(":quit")
            # The officer's welcome is announced to the student's screen before the follower stops.
            await eventually(lambda: "new message for officer Smith" in output.getvalue(), what="the notice")
            follower.cancel()
    finally:
        await remote.stop()
    shown = output.getvalue()
    assert errors.seen == []
    assert "You are Student (student)" in shown
    assert "You are Smith (officer)" in shown
    assert "Welcome. What now?" in shown
    assert "[1] Report" in shown
    assert "you pressed [Report]" in shown
    assert "Noted" in shown
    assert "Tell me what happened." in shown
    assert "link it with /enroll CODE" in shown
    assert re.search(r"→ student\n\s+officer Smith", shown)
