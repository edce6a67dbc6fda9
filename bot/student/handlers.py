"""The python-telegram-bot callbacks for students: load the turn, run the step, save the turn.

Every student callback goes through `student_turn`, which keeps the rules in
one place: state loaded per update and saved after it, floods slowed down
(never for a message the safety net flags, nor a tap that sends a report;
taps are counted apart, more generously; how many new urgent cases the chat
may still open is read in the same query), and when anything fails the
student hears so, with 911 and crisis lines if their message was urgent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import catalog, flow, pacing
from bot.services import BotContext
from bot.state import ChatState, Step
from bot.student import deep_link, language, reports, router, schools, sending, status
from bot.turn import FloodLimit, Turn, early_said, forget_safety_said, load_turn, mark_choice, save_turn
from casework.cases import forgetting
from nlu.language import detect

logger = logging.getLogger(__name__)

FLOOD_LIMIT = 20  # messages a chat may send...
FLOOD_WINDOW = timedelta(seconds=30)  # ...in this window before being slowed down
FLOOD_NOTICE_EVERY = 15.0  # seconds between two "too fast" notices to one chat
FLOOD = FloodLimit(FLOOD_LIMIT, FLOOD_WINDOW)
# Button taps, in a bucket of their own: no person taps this fast, but a loop of taps that each
# repeat their work ("Show the images": up to 10 uploads) is bounded.
TAPS = FloodLimit(30, timedelta(seconds=30), "taps")
# Taps that send a report are never dropped, however fast (like a message the safety net flags):
# Send under the preview, Send to the officer, "Is anyone in danger now? Yes". Each acts only where
# the conversation is at that step, so repeating one does nothing but be told it is stale.
NEVER_DROPPED_TAPS = frozenset({"send", "consent", "danger"})

StepHandler = Callable[[Turn], Awaitable[Step | None]]
_flood_notices: dict[str, float] = {}


def message_text(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if message is not None else ""


async def student_turn(update: Update, context: BotContext, handler: StepHandler) -> None:
    """Run one student step with its state, under the flood limit (taps under theirs), failing safely."""
    text = message_text(update)
    try:
        flood = TAPS if update.callback_query is not None else FLOOD
        turn = await load_turn(update, context, flood=flood, urgent_cases=sending.URGENT_CASES)
        if not _within_flood_limit(turn, text):
            await _slowed(turn)
            await save_turn(turn)
            return
        if turn.expired and turn.state == ChatState():
            await turn.say("draft_expired")
        before = turn.state.step
        step = await handler(turn)
        if step is not None:
            turn.state.step = step
        flow.record(before, turn.state.step)
        await save_turn(turn)
    except Exception as error:
        logger.error("student.turn_failed error=%s", type(error).__name__)
        await _fail_safely(update, context, text)


def _within_flood_limit(turn: Turn, text: str) -> bool:
    """Whether the update may be handled: under the limit (counted as the turn was loaded), an urgent
    message, or a tap that sends a report."""
    decision = turn.flood
    if decision is None or decision.allowed:
        return True
    query = turn.update.callback_query
    if query is not None:
        return (query.data or "").partition(":")[0] in NEVER_DROPPED_TAPS
    # An urgent message is never dropped, however fast it came.
    return bool(text) and turn.services.safety_net.check(text) is not None


async def _slowed(turn: Turn) -> None:
    """Over the limit: say so now and then (not to every message), and drop the message; a tap is
    answered with a short notice on the button (nothing added to the chat)."""
    query = turn.update.callback_query
    if query is not None:
        await query.answer(turn.text("too_fast_taps"))
        logger.info("student.taps_slowed")
        return
    now = time.monotonic()
    if len(_flood_notices) > 10_000:  # forget notices older than their period
        for key in [k for k, at in _flood_notices.items() if now - at > FLOOD_NOTICE_EVERY]:
            del _flood_notices[key]
    if now - _flood_notices.get(turn.pseudonym, 0.0) > FLOOD_NOTICE_EVERY:
        _flood_notices[turn.pseudonym] = now
        await turn.say("too_fast")
    logger.info("student.flood_slowed")


async def _fail_safely(update: Update, context: BotContext, text: str) -> None:
    """Something broke: tell the student, with safety information if the message was urgent."""
    chat = update.effective_chat
    if chat is None:
        return
    try:
        hit = context.services.safety_net.check(text) if text else None
        # The state that knows the student's language may be what failed: the message's own language.
        lang = detect(text) if text else catalog.DEFAULT_LANGUAGE
        if hit is not None:
            key = "urgent_self_harm" if hit.category == "self_harm" else "urgent_danger"
            said = await early_said()  # sent early (bot.early_safety): 911 or the crisis lines are read
            if said is None or (said, key) == ("urgent_early_danger", "urgent_self_harm"):
                with pacing.first():
                    await context.bot.send_message(chat.id, catalog.t(key, lang), parse_mode=ParseMode.HTML)
            await context.bot.send_message(chat.id, catalog.t("send_failed", lang), parse_mode=ParseMode.HTML)
        else:
            await context.bot.send_message(
                chat.id, catalog.t("something_went_wrong", lang), parse_mode=ParseMode.HTML
            )
    except Exception as error:
        logger.error("student.failure_not_told error=%s", type(error).__name__)


# --- callbacks registered with the application ------------------------------------------


async def on_text_message(update: Update, context: BotContext) -> None:
    """Telegram entry point for a typed message: run it through the step router."""
    text = message_text(update)
    await student_turn(update, context, lambda turn: router.route_text(turn, text))


async def on_callback_query(update: Update, context: BotContext) -> None:
    """Telegram entry point for a button press: run it through the step router."""
    query = update.callback_query
    if query is None:
        return

    async def press(turn: Turn) -> Step | None:
        data = query.data or ""
        step = await router.route_button(turn, data)
        if step is None:
            # A button from an earlier message: say so (never a silent tap), and take its keyboard
            # away so it is not pressed again.
            logger.info("student.stale_button")
            await query.answer(turn.text("stale_button"))
            if isinstance(query.message, Message):
                await mark_choice(query.message, "")
            return None
        await query.answer()
        await turn.remove_buttons()
        return step

    await student_turn(update, context, press)


async def start(update: Update, context: BotContext) -> None:
    token = " ".join(context.args or [])  # a school poster's deep link: /start <school token>

    async def welcome(turn: Turn) -> Step:
        await language.welcome(turn)  # with English / Français, one tap
        if token and (step := await deep_link.preselect(turn, token)) is not None:
            return step
        return await schools.ask_school(turn)

    await student_turn(update, context, welcome)


def _say(key: str) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    async def callback(update: Update, context: BotContext) -> None:
        async def say(turn: Turn) -> None:
            values = {"retention_days": context.services.settings.retention_days} if key == "privacy" else {}
            await turn.send(catalog.fill(key, values, turn.state.language))

        await student_turn(update, context, say)

    return callback


help_command = _say("help")
privacy = _say("privacy")


async def language_command(update: Update, context: BotContext) -> None:
    """/language, /langue: English or French, one tap, at any step."""

    async def choose(turn: Turn) -> None:
        await language.ask(turn)

    await student_turn(update, context, choose)


async def cancel(update: Update, context: BotContext) -> None:
    async def do_cancel(turn: Turn) -> Step:
        if turn.state.step == Step.IDLE and turn.state.draft is None:
            await turn.say("cancel_nothing")
            return Step.IDLE
        return await reports.cancel(turn)

    await student_turn(update, context, do_cancel)


async def forget(update: Update, context: BotContext) -> None:
    """Delete every row tied to this chat, and the chat's messages Telegram still lets us delete."""

    async def do_forget(turn: Turn) -> Step:
        services = turn.services
        async with services.db.transaction() as session:
            forgotten = await forgetting.forget_chat(session, services.keys, turn.chat_id, services.now())
        await _delete_messages(turn, [*forgotten.message_ids, *turn.message_ids])
        _flood_notices.pop(turn.pseudonym, None)
        forget_safety_said(turn.pseudonym)
        turn.state = ChatState()
        turn.message_ids.clear()
        turn.remember_messages = False  # the answer below stays: it says what is left and how to delete it
        await turn.say("forget_done")
        logger.info("student.forgot")
        return Step.IDLE

    await student_turn(update, context, do_forget)


DELETE_AT_ONCE = 100  # deleteMessages takes 1-100 ids


async def _delete_messages(turn: Turn, message_ids: list[int]) -> None:
    """Delete in Telegram; a refusal (an id too old, already gone) never stops the rest."""
    ids = sorted(set(message_ids))
    for start in range(0, len(ids), DELETE_AT_ONCE):
        try:
            await turn.context.bot.delete_messages(turn.chat_id, ids[start : start + DELETE_AT_ONCE])
        except TelegramError as error:
            logger.warning("student.forget_delete_failed error=%s", type(error).__name__)


async def status_command(update: Update, context: BotContext) -> None:
    code = " ".join(context.args or []).strip()

    async def do_status(turn: Turn) -> Step:
        if code:
            return await status.check_status(turn, code)
        return await status.ask_for_code(turn)

    await student_turn(update, context, do_status)


async def done(update: Update, context: BotContext) -> None:
    async def do_done(turn: Turn) -> Step:
        if turn.state.step == Step.URGENT_DETAILS:
            turn.state = turn.state.fresh()
            await turn.say("urgent_done")
        else:
            await turn.say("done_nothing")
        return Step.IDLE

    await student_turn(update, context, do_done)


async def unknown_command(update: Update, context: BotContext) -> None:
    await student_turn(update, context, lambda turn: _reply(turn, "command_unknown"))


async def unsupported(update: Update, context: BotContext) -> None:
    """Stickers, files that are not images, polls...: say what is accepted (images: bot.student.evidence)."""
    await _refuse_unless_urgent(update, context, "only_text")


async def forwarded(update: Update, context: BotContext) -> None:
    """Forwards can name their writer: refused, unless urgent (then only the text is used)."""
    await _refuse_unless_urgent(update, context, "no_forwards")


async def location_or_contact(update: Update, context: BotContext) -> None:
    await _refuse_unless_urgent(update, context, "no_location")


async def edited(update: Update, context: BotContext) -> None:
    await _refuse_unless_urgent(update, context, "edited_ignored")


async def _refuse_unless_urgent(update: Update, context: BotContext, key: str) -> None:
    """Explain what is accepted; but if the text (or caption) is urgent, act on it as if typed here."""
    message = update.effective_message
    text = ((message.text or message.caption) or "") if message is not None else ""

    async def refuse(turn: Turn) -> Step | None:
        if text and turn.services.safety_net.check(text) is not None:
            return await router.urgent_elsewhere(turn, text)
        await turn.say(key)
        return None

    await student_turn(update, context, refuse)


async def _reply(turn: Turn, key: str) -> None:
    await turn.say(key)
