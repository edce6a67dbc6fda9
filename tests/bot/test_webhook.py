"""Webhook mode: `python -m bot` with WEBHOOK_URL and WEBHOOK_SECRET, fed by the emulator over HTTP.

No Rasa server: nothing here is classified (the bot process's model would fall back).
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from devtools.procs import free_port
from tests.bot.harness import Student, World, eventually


async def test_webhook_mode_with_a_secret_token(scripted_world: World, tmp_path: Path) -> None:
    world = scripted_world
    port = free_port()
    secret = secrets.token_urlsafe(32)
    process = world.bot_process(
        tmp_path / "bot.log",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET=secret,
        WEBHOOK_LISTEN="127.0.0.1",
        PORT=str(port),
    )
    try:
        info = await eventually(_webhook_set(world), seconds=60)
        assert info["url"] == f"http://127.0.0.1:{port}/telegram"
        student = Student(world, await world.emu.user(first_name="Robin", started=True))
        welcome = await student.says("/start")
        assert "SRO Connect" in welcome.text
        assert "Which school" in (await student.then()).text
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)
    log = (tmp_path / "bot.log").read_text(errors="replace")
    assert secret not in log


async def test_webhook_mode_refuses_to_start_without_a_secret(scripted_world: World, tmp_path: Path) -> None:
    world = scripted_world
    process = world.bot_process(tmp_path / "bot.log", WEBHOOK_URL="https://example.invalid/telegram")
    code = await asyncio.to_thread(process.wait, 60)
    assert code == 2
    assert "WEBHOOK_SECRET is required" in (tmp_path / "bot.log").read_text()


def _webhook_set(world: World) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def check() -> dict[str, Any] | None:
        info = await world.emu.webhook_info()
        return info if info.get("url") else None

    return check
