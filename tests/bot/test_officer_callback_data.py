"""Officers' buttons carry internal case ids (never typed, never shown) within Telegram's 64-byte limit."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup

from bot.officer import render
from casework.cases.reading import CaseSummary
from storage.models import CaseKind, CaseStatus

LARGEST_ID = 2**31 - 1  # the largest `cases.id` an INTEGER column holds
MAX_CALLBACK_BYTES = 64  # Telegram refuses longer callback data (BUTTON_DATA_INVALID)


def _data(markup: InlineKeyboardMarkup) -> list[str]:
    return [str(button.callback_data) for row in markup.inline_keyboard for button in row]


def test_every_officer_button_fits_for_the_largest_case_id() -> None:
    summary = CaseSummary(
        LARGEST_ID,
        1,
        CaseKind.REPORT,
        "report_weapon",
        True,
        CaseStatus.NEW,
        datetime.now(UTC),
        None,
        "ABCDEFGHIJKLMNOP-999999",
    )
    data = [
        *_data(render.case_buttons(summary)),
        *_data(render.reply_only(LARGEST_ID)),
        *_data(render.outcome_buttons(LARGEST_ID)),
    ]
    assert len(data) == 4 + 1 + len(render.OUTCOMES)  # the control: every button was measured
    assert all(str(LARGEST_ID) in d for d in data)
    assert max(len(d.encode()) for d in data) <= MAX_CALLBACK_BYTES
    # The reference is what officers see; it is never in the data (nor needed there).
    assert not any("ABCDEFGHIJKLMNOP" in d for d in data)
