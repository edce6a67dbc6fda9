"""Injected faults reach python-telegram-bot as the errors Telegram's failures produce."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
import pytest
from telegram import Bot, Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes, MessageHandler, filters

from devtools.emulator import Emulator, EmulatorError, User
from tests.emulator.conftest import Errors, build_app, eventually, polling


async def test_429_is_retry_after_with_its_delay(emu: Emulator) -> None:
    student = await emu.user(started=True)
    await emu.fail_retry_after(3, times=2, method="sendMessage")
    async with emu.ptb_bot() as bot:
        for _ in range(2):
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(student.id, "hello")
            assert caught.value.retry_after == dt.timedelta(seconds=3)
        await bot.send_message(student.id, "hello")
    assert [m.text for m in await emu.messages(student)] == ["hello"]
    calls = await emu.calls("sendMessage", chat=student)
    assert [(c.status, c.outcome, c.fault, c.applied) for c in calls] == [
        (429, "fault", "retry_after", False),
        (429, "fault", "retry_after", False),
        (200, "ok", None, True),
    ]


async def test_403_for_blocked_and_never_started_users(emu: Emulator) -> None:
    blocked, stranger, officer = await emu.user(started=True), await emu.user(), await emu.user(started=True)
    await emu.block(blocked)
    fault = await emu.forbid(officer, description="Forbidden: user is deactivated")
    async with emu.ptb_bot() as bot:
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(blocked.id, "tip")
        with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
            await bot.send_message(stranger.id, "tip")
        for _ in range(3):  # for good, on every method naming the chat
            with pytest.raises(Forbidden, match=r"(?i)user is deactivated"):
                await bot.send_message(officer.id, "tip")
        with pytest.raises(Forbidden):
            await bot.send_chat_action(officer.id, "typing")
        await emu.send_text(blocked, "/start")  # writing to the bot again unblocks it, as in Telegram
        await bot.send_message(blocked.id, "welcome back")
        await emu.clear_faults(fault)
        await bot.send_message(officer.id, "tip")
    assert [m.text for m in await emu.messages(officer)] == ["tip"]


async def test_dropped_connection_is_a_network_error(emu: Emulator) -> None:
    student = await emu.user(started=True)
    await emu.drop_connections(times=1, chat=student)
    await emu.drop_connections(times=1, chat=student, after_processing=True)
    async with emu.ptb_bot() as bot:
        with pytest.raises(NetworkError) as lost_request:
            await bot.send_message(student.id, "never arrives")
        with pytest.raises(NetworkError) as lost_answer:
            await bot.send_message(student.id, "arrives, but the bot cannot know")
        await bot.send_message(student.id, "fine")
    assert "RemoteProtocolError" in str(lost_request.value)
    assert "RemoteProtocolError" in str(lost_answer.value)
    assert [m.text for m in await emu.messages(student)] == ["arrives, but the bot cannot know", "fine"]
    assert [(c.status, c.fault, c.applied) for c in await emu.calls("sendMessage")] == [
        (0, "drop", False),
        (0, "drop", True),
        (200, None, True),
    ]


async def test_server_errors_for_some_calls_or_some_time(emu: Emulator) -> None:
    student = await emu.user(started=True)
    await emu.fail_server_error(times=2, method="sendMessage")
    async with emu.ptb_bot() as bot:
        for _ in range(2):
            with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
                await bot.send_message(student.id, "x")
        await bot.send_message(student.id, "after two failures")

        await emu.fail_server_error(seconds=0.3, status=502)
        started, failures = time.monotonic(), []
        while True:
            try:
                await bot.send_message(student.id, "after the outage")
                break
            except NetworkError as error:
                failures.append(str(error))
                await asyncio.sleep(0.05)
    assert len(failures) >= 3
    assert all("Bad Gateway" in failure for failure in failures)
    assert time.monotonic() - started >= 0.3
    assert [m.text for m in await emu.messages(student)] == ["after two failures", "after the outage"]


async def test_a_slow_answer_times_out_after_the_message_was_sent(emu: Emulator) -> None:
    student = await emu.user(started=True)
    await emu.delay(1.0, after_processing=True, method="sendMessage")
    async with emu.ptb_bot() as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(student.id, "slow", read_timeout=0.2)
    assert [m.text for m in await emu.messages(student)] == ["slow"]


async def deliver(bot: Bot, user: User, text: str) -> bool:
    """A tiny outbox worker: retry on network errors and RetryAfter, give up on 403."""
    for _ in range(20):
        try:
            await bot.send_message(user.id, text)
        except Forbidden:
            return False
        except RetryAfter:
            await asyncio.sleep(0.01)  # a test may not wait the real retry_after
        except NetworkError:
            await asyncio.sleep(0.01)
        else:
            return True
    return False


async def test_counters_prove_each_tip_delivered_exactly_once(emu: Emulator) -> None:
    officers = [await emu.user(first_name=f"Officer {n}", started=True) for n in range(3)]
    unreachable = officers[2]
    await emu.drop_connections(times=1, chat=officers[0])
    await emu.fail_retry_after(5, times=1, chat=officers[0])
    await emu.fail_server_error(times=2, chat=officers[1])
    await emu.forbid(unreachable)
    async with emu.ptb_bot() as bot:
        results = await asyncio.gather(*(deliver(bot, o, f"tip for {o.first_name}") for o in officers))
    assert results == [True, True, False]
    for officer in officers[:2]:
        assert [m.text for m in await emu.messages(officer)] == [f"tip for {officer.first_name}"]
        assert len([c for c in await emu.calls("sendMessage", chat=officer) if c.applied]) == 1
    assert await emu.messages(unreachable) == []
    assert [c.fault for c in await emu.calls("sendMessage", chat=officers[0])] == [
        "drop",
        "retry_after",
        None,
    ]
    assert [c.status for c in await emu.calls("sendMessage", chat=unreachable)] == [403]


async def test_an_unnamed_method_never_hits_polling(emu: Emulator) -> None:
    app = build_app(emu)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("echo")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    errors = Errors()
    student = await emu.user()
    async with polling(app, errors):
        await eventually(lambda: emu.server is not None and emu.server.world.active_polls == 1)
        await emu.drop_connections(times=1)
        await emu.send_text(student, "first")
        await eventually(lambda: len(errors.seen) == 1)
        await emu.send_text(student, "second")
        assert (await emu.next_message(student)).text == "echo"
    assert isinstance(errors.seen[0], NetworkError)
    assert all(c.fault is None for c in await emu.calls("getUpdates"))


async def test_latency_slows_every_call(emu: Emulator) -> None:
    student = await emu.user(started=True)
    await emu.set_latency(0.3)
    async with emu.ptb_bot() as bot:
        started = time.monotonic()
        await bot.send_message(student.id, "slow network")
        assert time.monotonic() - started >= 0.3
        # Turned off, no latency is left: ten minutes of it, then none, and the next call comes
        # back within the test (no upper limit on the clock to flake on a busy machine).
        await emu.set_latency(600)
        await emu.set_latency(0)
        await bot.send_message(student.id, "fast again")
    assert [m.text for m in await emu.messages(student)] == ["slow network", "fast again"]


async def test_fault_rules_are_validated(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=f"{emu.url}/_emulator") as control:
        unknown = await control.post("/add_fault", json={"kind": "explode"})
        endless = await control.post("/add_fault", json={"kind": "drop", "times": None})
    assert unknown.status_code == 400
    assert "fault kind must be one of" in unknown.json()["error"]
    assert endless.status_code == 400
    assert "would never end" in endless.json()["error"]
    with pytest.raises(EmulatorError, match=r"(?i)status must be one of"):
        await emu.fail_server_error(status=418)
    assert await emu.faults() == []
