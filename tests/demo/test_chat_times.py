"""The demo's terminal chat shows times in the program's zone, as the bot's own texts do (issue 9)."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from rich.console import Console

from devtools.emulator import Emulator
from devtools.emulator.chat import ChatSession

TORONTO = ZoneInfo("America/Toronto")


async def panel_heading(emu: Emulator, timezone: dt.tzinfo | None) -> tuple[str, int]:
    """What the chat prints for one bot message, and the message's unix time."""
    student = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        await bot.send_message(student.id, "hello")
    message = await emu.next_message(student)
    output = io.StringIO()
    session = ChatSession(emu, Console(file=output, width=100, color_system=None), timezone)
    session.show(message)
    return output.getvalue(), int(message.raw["date"])


async def test_panel_times_are_in_the_program_zone() -> None:
    async with Emulator() as emu:
        shown, date = await panel_heading(emu, TORONTO)
        utc_shown, utc_date = await panel_heading(emu, dt.UTC)  # control: the heading follows the zone
    sent = dt.datetime.fromtimestamp(date, dt.UTC)
    # Toronto is 4 or 5 hours behind UTC, so the two headings can never agree.
    assert f"SRO Connect · {sent.astimezone(TORONTO):%H:%M}" in shown
    assert f"SRO Connect · {sent:%H:%M}" not in shown
    assert f"SRO Connect · {dt.datetime.fromtimestamp(utc_date, dt.UTC):%H:%M}" in utc_shown
