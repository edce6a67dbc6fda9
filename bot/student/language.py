"""The language a student is answered in: one tap at /start or with /language (/langue), else detected.

The choice lives only in the student's sealed, pseudonymous state (bot.state.ChatState.language),
like their school: never beside an identifier, gone with the state (30 minutes of silence, /forget).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import catalog
from bot.state import Step
from bot.student import reports, schools
from bot.turn import Button, Turn

logger = logging.getLogger(__name__)

BUTTONS: list[list[Button]] = [
    [("language_english_button", "lang:en"), ("language_french_button", "lang:fr")]
]


# The command menu Telegram shows a student (setMyCommands), by their app's language: each command by
# the name the texts of that language use (bot.app registers both), and the catalog key describing it.
MENUS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        *(("start", "menu_start"), ("status", "menu_status"), ("help", "menu_help")),
        *(("privacy", "menu_privacy"), ("cancel", "menu_cancel"), ("forget", "menu_forget")),
        ("language", "menu_language"),
    ),
    "fr": (
        *(("start", "menu_start"), ("statut", "menu_status"), ("aide", "menu_help")),
        *(("confidentialite", "menu_privacy"), ("annuler", "menu_cancel"), ("oublier", "menu_forget")),
        ("langue", "menu_language"),
    ),
}


def menu(language: str) -> list[tuple[str, str]]:
    """(command, description) for Telegram's menu in `language`."""
    texts = catalog.messages(language)
    return [(command, texts[key]) for command, key in MENUS[language]]


async def welcome(turn: Turn) -> None:
    """The welcome, in the student's language so far, with the one-tap choice under it."""
    await turn.say("welcome", buttons=BUTTONS)


async def ask(turn: Turn) -> None:
    """/language, /langue: the choice again, at any step (the conversation stays where it was)."""
    await turn.say("language_ask", buttons=BUTTONS)


async def button(turn: Turn, argument: str) -> Step | None:
    """A tap on English or Français: answer in it from now on, and ask again what was waiting."""
    if argument not in catalog.LANGUAGES:
        return None  # not a button this bot makes: stale
    state = turn.state
    state.language, state.language_chosen = argument, True
    logger.info("student.language_chosen language=%s", argument)
    await turn.say("language_set")
    return await _ask_again(turn)


async def _ask_again(turn: Turn) -> Step:
    """The question the student had in front of them, now in the language they chose."""
    state = turn.state
    draft = state.draft
    if state.step == Step.CHOOSE_SCHOOL:
        if state.school_case_id is not None and state.school_deadline is not None:
            return await schools.ask_school(turn, "urgent_no_school")
        return await schools.ask_school(turn, "school_needed_first" if draft is not None else "ask_school")
    if state.step == Step.INTERVIEW and draft is not None and draft.asking is not None:
        return await reports.ask(turn, draft.asking)
    if state.step == Step.PREVIEW and draft is not None:
        return await reports.preview(turn)
    if state.step == Step.URGENT_CONSENT and draft is not None:
        return await reports.ask_consent(turn)  # the crisis lines again, in the chosen language
    return state.step


def follow_detected(turn: Turn, detected: str) -> None:
    """A classified message's language (nlu.language.detect), when the student has not tapped one.

    French is detected only on decisive words or a confident model, so it sticks; English is also
    the detector's answer when unsure, so it is taken for now and a later French message still counts.
    """
    state = turn.state
    if state.language_chosen or detected not in catalog.LANGUAGES or detected == state.language:
        return
    state.language = detected
    state.language_chosen = detected != catalog.DEFAULT_LANGUAGE
    logger.info("student.language_detected language=%s", detected)


# Canadian French abbreviations (OQLF): the month, then the time with "h" ("3 nov., 16 h 15").
_MONTHS_FR = (
    *("janv.", "févr.", "mars", "avr.", "mai", "juin"),
    *("juill.", "août", "sept.", "oct.", "nov.", "déc."),
)


def short_time_fr(local: datetime) -> str:
    """A local time as a French reader writes it: "3 nov., 16 h 15" (English: "Nov 3, 16:15")."""
    return f"{local.day} {_MONTHS_FR[local.month - 1]}, {local.hour} h {local.minute:02d}"
