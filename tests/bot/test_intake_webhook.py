"""Webhook mode answers 200 only once an update is stored: while the database refuses, Telegram keeps it.

The SQLite database is locked from outside (an exclusive transaction) while a
student writes: the bot cannot store the update, so its webhook does not
answer 200 and the emulator, like Telegram, records the failure and posts
it again. Once the lock is gone the update is stored and handled, once.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import sqlite3
from pathlib import Path

import pytest

from devtools.procs import free_port
from tests.bot.harness import Student, World, eventually

pytestmark = pytest.mark.slow


async def test_an_update_the_bot_cannot_store_is_not_acknowledged_and_comes_again(
    scripted_world: World, tmp_path: Path
) -> None:
    world = scripted_world
    assert world.database_url.startswith("sqlite+aiosqlite:///")
    path = world.database_url.removeprefix("sqlite+aiosqlite:///")
    port = free_port()
    process = world.bot_process(
        tmp_path / "bot.log",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET=secrets.token_urlsafe(32),
        WEBHOOK_LISTEN="127.0.0.1",
        PORT=str(port),
    )
    try:

        async def webhook_set() -> bool:
            return bool((await world.emu.webhook_info()).get("url"))

        await eventually(webhook_set, seconds=60, what="the webhook set")
        student = Student(world, await world.emu.user(first_name="Robin", started=True))
        lock = sqlite3.connect(path, timeout=1, isolation_level=None)
        try:
            lock.execute("BEGIN EXCLUSIVE")  # nobody else may write for now
            await world.emu.send_text(student.user, "/start")

            async def refused() -> bool:
                return bool((await world.emu.webhook_info()).get("last_error_message"))

            # Positive control: the bot could not store it, so Telegram was not told it arrived.
            await eventually(refused, seconds=60, what="the webhook refusing the update")
            await world.emu.assert_no_message(student.user, within=0)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        # Posted again, stored, handled: the welcome, once.
        welcome = await world.emu.next_message(student.user, timeout=60)
        assert "SRO Connect" in welcome.text
        assert "Which school" in (await student.then(timeout=30)).text
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)
    texts = [message.text for message in await world.emu.messages(student.user)]
    assert sum("SRO Connect" in text for text in texts) == 1, texts
