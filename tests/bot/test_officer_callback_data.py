"""Officers' buttons carry internal case ids (never typed, never shown) within Telegram's 64-byte limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup
from telegram.ext import CallbackQueryHandler

from bot.officer import render
from bot.officer.handlers import officer_handlers
from casework.cases.reading import CaseSummary
from storage.models import CaseKind, CaseStatus, Outcome

LARGEST_ID = 2**31 - 1  # the largest `cases.id` an INTEGER column holds
MAX_CALLBACK_BYTES = 64  # Telegram refuses longer callback data (BUTTON_DATA_INVALID)


def _data(markup: InlineKeyboardMarkup) -> list[str]:
    return [str(button.callback_data) for row in markup.inline_keyboard for button in row]


def _summary() -> CaseSummary:
    return CaseSummary(
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


def _every_button() -> list[str]:
    """The data of every button the officer side makes, /cases' Open buttons and each outcome's too."""
    return [
        *_data(render.case_buttons(_summary())),
        *_data(render.reply_only(LARGEST_ID)),
        *_data(render.outcome_buttons(LARGEST_ID)),
        *_data(render.reopen_button(LARGEST_ID)),
        *[d for o in Outcome for d in _data(render.close_now_button(LARGEST_ID, o))],
        f"o:open:{LARGEST_ID}",  # bot.officer.actions.list_cases
    ]


def _patterns() -> list[re.Pattern[str]]:
    """The patterns of the officer group's button handlers (the last one, without, takes stale buttons)."""
    handlers = [h for h in officer_handlers() if isinstance(h, CallbackQueryHandler)]
    assert handlers[-1].pattern is None
    patterns = [h.pattern for h in handlers[:-1]]
    assert all(isinstance(p, re.Pattern) for p in patterns)
    return [p for p in patterns if isinstance(p, re.Pattern)]


def test_every_officer_button_fits_for_the_largest_case_id() -> None:
    data = _every_button()
    # The control: every button was measured (case, reply-only, outcome, reopen, close-now, open).
    assert len(data) == 4 + 1 + len(Outcome) + 1 + len(Outcome) + 1
    assert all(str(LARGEST_ID) in d for d in data)
    assert max(len(d.encode()) for d in data) <= MAX_CALLBACK_BYTES
    # The reference is what officers see; it is never in the data (nor needed there).
    assert not any("ABCDEFGHIJKLMNOP" in d for d in data)


def test_every_officer_button_reaches_exactly_one_handler_and_malformed_data_none() -> None:
    patterns = _patterns()
    for data in _every_button():
        assert len([p for p in patterns if p.match(data)]) == 1, data
    # Refused as a stale button, as before the handlers took patterns (the control: the same data
    # made well-formed matches, so the patterns are not simply matching nothing).
    for malformed, well_formed in (
        ("o:ack:abc", "o:ack:1"),
        ("o:ack:-1", "o:ack:1"),
        ("o:ack:1.5", "o:ack:1"),  # the whole data is matched, not a prefix of it
        ("o:ack:", "o:ack:1"),
        ("o:ack:١", "o:ack:1"),  # an Arabic-Indic digit: ids are ASCII
        ("o:outcome:1", "o:outcome:1:resolved"),
        ("o:outcome:1:nonsense", "o:outcome:1:other"),
        ("o:closenow:1:RESOLVED", "o:closenow:1:resolved"),
        ("o:nothing:1", "o:esc:1"),
        ("x:reply:1", "o:reply:1"),
    ):
        assert not any(p.match(malformed) for p in patterns), malformed
        assert any(p.match(well_formed) for p in patterns), well_formed
