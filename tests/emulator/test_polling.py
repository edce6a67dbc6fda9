"""Receiving updates: real long polling (prompt wake-up, prompt shutdown, offsets) and webhooks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from telegram import Update
from telegram.error import Conflict
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from devtools.emulator import Emulator
from tests.conftest import free_port
from tests.emulator.conftest import App, Errors, build_app, polling


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    assert update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


async def test_a_waiting_poll_returns_as_soon_as_a_message_arrives(emu: Emulator) -> None:
    app = build_app(emu)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    student = await emu.user()
    async with polling(app, poll_timeout=30):
        await asyncio.sleep(0.3)  # the bot is now inside a 30 s long poll
        started = time.monotonic()
        await emu.send_text(student, "ping")
        await emu.next_message(student, timeout=2.0)
        answered = time.monotonic() - started
        stopping = time.monotonic()
    stopped = time.monotonic() - stopping
    assert answered < 0.5
    assert stopped < 1.0


async def test_stopping_the_emulator_releases_a_pending_poll() -> None:
    emu = await Emulator().start()
    async with emu.ptb_bot() as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await emu.stop()
        assert await poll == ()
    assert time.monotonic() - started < 1.0


async def test_offset_confirms_and_limit_caps(emu: Emulator) -> None:
    student = await emu.user()
    ids: list[int] = []
    for text in ("m0", "m1", "m2"):
        update_id = (await emu.send_text(student, text)).update_id
        assert update_id is not None
        ids.append(update_id)
    async with emu.ptb_bot() as bot:
        assert [u.update_id for u in await bot.get_updates()] == ids
        assert [u.update_id for u in await bot.get_updates(limit=1)] == ids[:1]
        later = await bot.get_updates(offset=ids[1])
        assert [u.message.text for u in later if u.message] == ["m1", "m2"]
        assert [u.update_id for u in await bot.get_updates()] == ids[1:]  # m0 is gone for good
    # With nothing to deliver, a poll waits out its timeout (fractions are accepted here).
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        answer = await client.post(
            f"{emu.base_url}{emu.token}/getUpdates", json={"offset": ids[2] + 1, "timeout": 0.3}
        )
    assert answer.json() == {"ok": True, "result": []}
    assert time.monotonic() - started >= 0.3


async def test_a_second_poller_ends_the_first_with_a_conflict(emu: Emulator) -> None:
    async with emu.ptb_bot() as first, emu.ptb_bot() as second:
        waiting = asyncio.create_task(first.get_updates(timeout=10, read_timeout=15))
        await asyncio.sleep(0.1)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
            await waiting


@asynccontextmanager
async def webhook_app(app: App, port: int, url: str, secret: str) -> AsyncIterator[App]:
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="telegram", webhook_url=url, secret_token=secret
        )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def test_webhook_delivery_with_secret_token() -> None:
    emu = await Emulator().start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    app = build_app(emu)
    seen: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen.append("start")
        await update.effective_message.reply_text("welcome (webhook)")

    app.add_handler(CommandHandler("start", start))
    errors = Errors()
    app.add_error_handler(errors)
    async with emu, webhook_app(app, port, url, "right-secret"):
        info = await emu.webhook_info()
        assert info["url"] == url
        student = await emu.user()
        await emu.send_text(student, "/start")
        assert (await emu.next_message(student)).text == "welcome (webhook)"

        # While a webhook is set, getUpdates is refused, as on Telegram.
        async with emu.ptb_bot() as other:
            with pytest.raises(Conflict, match=r"(?i)webhook is active"):
                await other.get_updates()

            # Someone sets the webhook with another secret: PTB refuses what the emulator posts.
            await other.set_webhook(url, secret_token="wrong-secret")
            await emu.send_text(student, "/start")
            await emu.assert_no_message(student, within=0.3)
            info = await emu.webhook_info()
            assert info["pending_update_count"] == 1
            assert info["last_error_message"] == "Wrong response from the webhook: 403 Forbidden"

            # A request without the header is refused as well.
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    url, json={"update_id": 1}, headers={"Content-Type": "application/json"}
                )
            assert answer.status_code == 403

            # With the right secret again, the waiting update is delivered.
            await other.set_webhook(url, secret_token="right-secret")
            assert (await emu.next_message(student)).text == "welcome (webhook)"
    assert seen == ["start", "start"]
    assert errors.seen == []


async def test_run_polling_drops_pending_updates_on_request(emu: Emulator) -> None:
    student = await emu.user()
    await emu.send_text(student, "old news")
    app: Application = build_app(emu)  # type: ignore[type-arg]
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, drop_pending_updates=True)
        await emu.send_text(student, "fresh")
        assert (await emu.next_message(student)).text == "fresh"
        await app.updater.stop()
        await app.stop()
    await emu.assert_no_message(student, within=0.1)
