"""A fresh emulator per test, and a real python-telegram-bot Application polling it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from devtools.emulator import Emulator
from devtools.procs import eventually

__all__ = ["App", "Errors", "build_app", "eventually", "polling"]

App = Application[Any, Any, Any, Any, Any, Any]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns when it builds a RetryAfter, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


def build_app(emu: Emulator) -> App:
    """A PTB Application pointed at the emulator exactly as the bot's configuration does it."""
    app: App = (
        ApplicationBuilder().token(emu.token).base_url(emu.base_url).base_file_url(emu.base_file_url).build()
    )
    return app


class Errors:
    """Collects handler errors (PTB only logs them otherwise)."""

    def __init__(self) -> None:
        self.seen: list[BaseException] = []

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        self.seen.append(context.error)


@asynccontextmanager
async def polling(app: App, errors: Errors | None = None, *, poll_timeout: int = 10) -> AsyncIterator[App]:
    """Run `app` with long polling for the duration of the block."""
    app.add_error_handler(errors if errors is not None else Errors())
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=poll_timeout)
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            await app.stop()
