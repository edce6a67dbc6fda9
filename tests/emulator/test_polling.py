"""Receiving updates: real long polling (prompt wake-up, prompt shutdown, offsets) and webhooks.

No wall-clock limits: "prompt" is shown with long polls far longer than the test may run (a poll
not woken would hang it, and pytest-timeout fails it), after waiting for the poll to be under way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from telegram import Update
from telegram.error import Conflict
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from devtools.emulator import Emulator
from devtools.procs import eventually, free_port
from tests.emulator.conftest import App, Errors, build_app, polling


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    assert update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


# Longer than pytest's timeout for a test: a poll that has to be waited out fails the test.
LONG_POLL = 600


def polls_waiting(emu: Emulator) -> int:
    assert emu.server is not None
    return emu.server.world.active_polls


async def test_a_waiting_poll_returns_as_soon_as_a_message_arrives(emu: Emulator) -> None:
    app = build_app(emu)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    student = await emu.user()
    async with polling(app, poll_timeout=LONG_POLL):
        await eventually(lambda: polls_waiting(emu) == 1, what="the bot inside its long poll")
        await emu.send_text(student, "ping")
        # Answered within the test, so the poll was woken: it had ten minutes left to wait.
        assert (await emu.next_message(student, timeout=60)).text == "ping"
    # Leaving the block stops the bot although its next long poll was under way (else: a hang).


async def test_stopping_the_emulator_releases_a_pending_poll() -> None:
    emu = await Emulator().start()
    async with emu.ptb_bot() as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=LONG_POLL, read_timeout=LONG_POLL + 10))
        await eventually(lambda: polls_waiting(emu) == 1, what="the long poll under way")
        await emu.stop()
        assert await poll == ()  # answered (empty) by the stop, not after ten minutes


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
    # With nothing to deliver, a poll waits (it is seen waiting), then answers empty at its timeout
    # (fractions are accepted here).
    async with httpx.AsyncClient() as client:
        request = asyncio.create_task(
            client.post(f"{emu.base_url}{emu.token}/getUpdates", json={"offset": ids[2] + 1, "timeout": 0.3})
        )
        await eventually(lambda: polls_waiting(emu) == 1 or request.done(), what="the poll under way")
        assert not request.done()
        answer = await request
    assert answer.json() == {"ok": True, "result": []}


async def test_a_second_poller_ends_the_first_with_a_conflict(emu: Emulator) -> None:
    async with emu.ptb_bot() as first, emu.ptb_bot() as second:
        waiting = asyncio.create_task(first.get_updates(timeout=LONG_POLL, read_timeout=LONG_POLL + 10))
        await eventually(lambda: polls_waiting(emu) == 1, what="the first poll under way")
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
            refused = "Wrong response from the webhook: 403 Forbidden"
            info = await eventually(
                lambda: _with_error(emu, refused), what="the emulator's post refused by the bot"
            )
            assert info["pending_update_count"] == 1
            assert [m.text for m in await emu.messages(student)] == ["welcome (webhook)"]  # no answer

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
    # Updates are handled in order: "old news", had it been kept, would have been echoed first.
    assert [m.text for m in await emu.messages(student)] == ["fresh"]


async def _with_error(emu: Emulator, error: str) -> dict[str, object] | None:
    info = await emu.webhook_info()
    return info if info.get("last_error_message") == error else None
