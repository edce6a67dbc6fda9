"""Officers in their private chat: enrollment, tips' buttons, replies, /cases, /case, /close, /reopen.

An enrolled officer's updates never reach the student handlers (`officer_gate`
runs first), so an officer's free text is never taken as a student's report,
and a student can never reach an officer command: the role is the chat's
enrollment, checked on every update, and every case operation checks that
the case was sealed for this officer.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop

from bot import catalog
from bot.officer import render
from bot.services import BotContext, Services
from bot.turn import mark_choice
from casework import audit, officers, rate_limits
from casework.cases import drafts, intake, lifecycle, reading, references
from casework.delivery import escalation, outbox, routing
from casework.errors import (
    AccessDenied,
    AmbiguousReference,
    BadCheckCharacter,
    CaseClosed,
    ChatAlreadyEnrolled,
    EnrollmentCodeExpired,
    EnrollmentCodeRejected,
    InactiveOfficer,
    InvalidTransition,
    MalformedCode,
    MalformedReference,
    UnknownCase,
    UnknownReference,
)
from nlu import taxonomy
from storage.models import Officer

logger = logging.getLogger(__name__)

OUTCOMES = ("resolved", "referred", "unfounded", "duplicate", "other")
ENROLL_MISSES = 5
ENROLL_WINDOW = timedelta(minutes=15)
# Officers' messages may carry a student's words (a pasted URL): Telegram must never fetch it,
# or whoever controls the URL learns when an officer opened the tip.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def _say(
    context: BotContext, chat_id: int, key: str, markup: InlineKeyboardMarkup | None = None, **values: object
) -> None:
    text = catalog.fill(key, values)
    await context.bot.send_message(
        chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


# --- enrollment (anyone may try) -----------------------------------------------------------


async def enroll(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    code = " ".join(context.args or []).strip()
    if not code:
        await _say(context, chat.id, "enroll_usage")
        return
    pseudonym = services.keys.pseudonym(chat.id)
    async with services.db.transaction() as session:
        until = await rate_limits.blocked_until(
            session, services.keys, pseudonym, "enroll-miss", services.now()
        )
    if until is not None:
        wait = max(1, math.ceil((until - services.now()).total_seconds()))
        await _say(context, chat.id, "enroll_slow_down", seconds=wait)
        return
    failure: str | None = None
    try:
        async with services.db.transaction() as session:
            officer = await officers.enroll(
                session, services.keys, services.policy, code, chat.id, services.now()
            )
    except BadCheckCharacter:
        failure = "enroll_bad_check"
    except MalformedCode:
        failure = "enroll_malformed"
    except EnrollmentCodeExpired:
        failure = "enroll_expired"
    except EnrollmentCodeRejected:
        failure = "enroll_rejected"
    except ChatAlreadyEnrolled:
        failure = "enroll_chat_taken"
    except InactiveOfficer:
        failure = "enroll_inactive"
    if failure is not None:
        async with services.db.transaction() as session:
            await rate_limits.hit(
                session,
                services.keys,
                pseudonym,
                "enroll-miss",
                limit=ENROLL_MISSES,
                window=ENROLL_WINDOW,
                now=services.now(),
            )
        logger.info("officer.enroll_refused reason=%s", failure)
        await _say(context, chat.id, failure)
        return
    services.outbox_ready.set()  # waiting tips were handed to this officer
    logger.info("officer.enrolled")
    await _say(context, chat.id, "enroll_done", name=officer.display_name)


# --- the gate ------------------------------------------------------------------------------------


async def officer_gate(update: Update, context: BotContext) -> None:
    """Handle every private update from an enrolled officer here, and stop it going further."""
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    services = context.services
    async with services.db.transaction() as session:
        officer = await officers.officer_for_chat(session, chat.id)
    if officer is None:
        return
    message = update.effective_message
    if update.callback_query is not None:
        await on_officer_button(update, context, officer)
    elif message is not None and update.edited_message is None and message.text:
        command, _, argument = message.text.partition(" ")
        command = command.split("@")[0].lower()
        if command == "/enroll":
            return  # handled by `enroll` (a new phone, a new code)
        await on_officer_text(update, context, officer, command, argument.strip())
    raise ApplicationHandlerStop


# --- commands and text -----------------------------------------------------------------------------


async def on_officer_text(
    update: Update, context: BotContext, officer: Officer, command: str, argument: str
) -> None:
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    if command in ("/help", "/start"):
        await _say(context, chat_id, "officer_help")
    elif command == "/cases":
        await list_cases(context, chat_id, officer)
    elif command in ("/case", "/close", "/reopen"):
        if command == "/reopen" and not argument:
            await _say(context, chat_id, "officer_reopen_usage")
            return
        case_id = await _typed_case(context, chat_id, officer, argument)
        if case_id is not None and command == "/case":
            await show_case(context, chat_id, officer, case_id)
        elif case_id is not None and command == "/close":
            await ask_outcome(context, chat_id, officer, case_id)
        elif case_id is not None:
            await reopen(context, chat_id, officer, case_id)
    elif command == "/cancel":
        await _set_replying(context.services, chat_id, None)
        await _say(context, chat_id, "officer_cancelled")
    elif command.startswith("/"):
        await _say(context, chat_id, "officer_help")
    else:
        await free_text(update, context, officer)


async def _typed_case(context: BotContext, chat_id: int, officer: Officer, typed: str) -> int | None:
    """The officer's case a typed reference names (`MRC-12`, `mrc12`, `12`), or None after saying why."""
    if not typed:
        await _say(context, chat_id, "officer_case_usage")
        return None
    try:
        async with context.services.db.transaction() as session:
            return await references.resolve(session, officer.id, typed)
    except MalformedReference:
        await _say(context, chat_id, "officer_case_usage")
    except UnknownReference:
        await _say(context, chat_id, "officer_unknown_reference", reference=typed.strip()[:40])
    except AmbiguousReference as ambiguous:
        await _say(
            context, chat_id, "officer_ambiguous_reference", number=typed.strip().lstrip("#"),
            references=", ".join(ambiguous.references), example=ambiguous.references[0],
        )  # fmt: skip
    return None


async def _reference(services: Services, case_id: int, officer: Officer) -> str:
    """The case's reference for this officer's notices; `AccessDenied` if the case is not theirs."""
    async with services.db.transaction() as session:
        reference = await references.reference_for_officer(session, case_id, officer.id)
    if reference is None:
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    return reference


async def free_text(update: Update, context: BotContext, officer: Officer) -> None:
    """A reply to a tip message, or the answer after tapping Reply; anything else gets a hint."""
    services = context.services
    message = update.effective_message
    assert message is not None
    assert message.text is not None
    chat_id = message.chat_id
    case_id: int | None = None
    if message.reply_to_message is not None:
        async with services.db.transaction() as session:
            case_id = await outbox.case_of_sent_message(
                session, officer.id, message.reply_to_message.message_id
            )
    state = await _state(services, chat_id)
    closing = state.get("closing")
    if case_id is None and isinstance(closing, int) and state.get("outcome") in OUTCOMES:
        await close_case(context, chat_id, officer, closing, str(state["outcome"]), last_message=message.text)
        return
    if case_id is None:
        replying = state.get("replying_to")
        case_id = replying if isinstance(replying, int) else None
    if case_id is None:
        await _say(context, chat_id, "officer_free_text")
        return
    try:
        async with services.db.transaction() as session:
            await intake.add_message(
                session, services.keys, services.policy, case_id,
                direction="officer", body={"text": message.text}, now=services.now(),
                author_officer_id=officer.id,
            )  # fmt: skip
    except (AccessDenied, UnknownCase):
        await _say(context, chat_id, "officer_not_yours")
        return
    except CaseClosed:
        # Said plainly: nothing went out. The words are kept (sealed, in this chat's state) so that
        # reopening can send them without retyping.
        reference = await _reference(services, case_id, officer)
        await _save_state(services, chat_id, {"held_for": case_id, "held_text": message.text})
        logger.info("officer.reply_to_closed_case")
        await _say(
            context,
            chat_id,
            "officer_closed_not_sent",
            render.reopen_button(case_id, send=True),
            case=reference,
        )
        return
    await _set_replying(services, chat_id, None)
    services.outbox_ready.set()
    logger.info("officer.replied")
    await _say(context, chat_id, "officer_reply_sent", case=await _reference(services, case_id, officer))


async def list_cases(context: BotContext, chat_id: int, officer: Officer) -> None:
    services = context.services
    async with services.db.transaction() as session:
        summaries = await reading.list_officer_cases(session, officer.id, open_only=True)
        names = {s.school_id: await reading.school_name(session, s.school_id) for s in summaries}
        # Only names whose record verifies (a writer must not rename who took a case).
        takers = await officers.display_names(session, {s.acknowledged_by for s in summaries})
    if not summaries:
        await _say(context, chat_id, "officer_no_cases")
        return
    zone = services.policy.timezone
    lines = [catalog.t("officer_cases_header")]
    for s in summaries:
        lines.append(
            catalog.t(
                "officer_case_line",
                marker="🚨" if s.urgent else "📩",
                case=s.reference,
                category=catalog.t("officer_kind_question")
                if s.kind == "question"
                else taxonomy.label(s.intent),
                school=names.get(s.school_id) or catalog.t("officer_no_school"),
                status=_list_status(s, officer, takers),
                time=render.local_time(s.created_at, zone),
            )
        )
    buttons = [
        InlineKeyboardButton(
            catalog.t("officer_open_button", case=s.reference), callback_data=f"o:open:{s.case_id}"
        )
        for s in summaries[:24]
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await _send_parts(context, chat_id, render.html_lines(lines), InlineKeyboardMarkup(rows))


def _list_status(summary: reading.CaseSummary, officer: Officer, takers: dict[int, str]) -> str:
    """ "New: not acknowledged yet", or "Acknowledged by Cst. Lee" (by whom, when the record verifies)."""
    taker = summary.acknowledged_by
    if summary.status in ("acknowledged", "in_progress") and taker is not None:
        who = catalog.t("officer_you") if taker == officer.id else takers.get(taker)
        if who:
            return catalog.t(f"officer_status_{summary.status}_by", officer=who)
    return catalog.t(f"officer_status_{summary.status}").replace("<i>", "").replace("</i>", "")


async def show_case(context: BotContext, chat_id: int, officer: Officer, case_id: int) -> None:
    services = context.services
    try:
        async with services.db.transaction() as session:
            thread = await reading.read_case_as_officer(session, services.keys, case_id, officer.id)
            school = await reading.school_name(session, thread.summary.school_id)
            names = await officers.display_names(session, {m.author_officer_id for m in thread.messages})
            await audit.case_read(session, case_id, officer.id, services.now())  # who read it is kept
    except (AccessDenied, UnknownCase):
        await _say(context, chat_id, "officer_not_yours")
        return
    parts = render.thread_parts(thread.summary, school, thread.messages, services.policy.timezone, names)
    closed = thread.summary.status == "closed"
    markup = render.reopen_button(case_id) if closed else render.case_buttons(thread.summary)
    await _send_parts(context, chat_id, parts, markup)


async def _send_parts(
    context: BotContext, chat_id: int, parts: list[str], markup: InlineKeyboardMarkup | None
) -> None:
    """A long text as several messages, in order; the buttons go under the last."""
    for number, part in enumerate(parts, start=1):
        await context.bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if number == len(parts) else None,
            link_preview_options=NO_PREVIEW,
        )


async def ask_outcome(context: BotContext, chat_id: int, officer: Officer, case_id: int) -> None:
    services = context.services
    async with services.db.transaction() as session:
        reference = await references.reference_for_officer(session, case_id, officer.id)
    if reference is None:
        await _say(context, chat_id, "officer_not_yours")
        return
    await _say(context, chat_id, "officer_choose_outcome", outcome_buttons(case_id), case=reference)


def outcome_buttons(case_id: int) -> InlineKeyboardMarkup:
    """One button per outcome. The data holds the internal id (officers never type it): at most 64 bytes."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.t(f"officer_outcome_{o}"), callback_data=f"o:outcome:{case_id}:{o}"
                )
            ]
            for o in OUTCOMES
        ]
    )


# --- buttons ---------------------------------------------------------------------------------------


async def on_officer_button(update: Update, context: BotContext, officer: Officer) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    parts = (query.data or "").split(":")
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    if len(parts) < 3 or parts[0] != "o" or not parts[2].isdigit():
        await _say(context, chat_id, "officer_stale_button")
        return
    action, case_id = parts[1], int(parts[2])
    services = context.services
    try:
        if action == "ack":
            await acknowledge(context, chat_id, officer, case_id)
        elif action == "reply":
            reference = await _reference(services, case_id, officer)
            async with services.db.transaction() as session:
                status = (await reading.case_summary(session, case_id)).status
            if status == "closed":  # said now, not after the officer typed a whole answer
                await _say(
                    context, chat_id, "officer_closed_no_reply", render.reopen_button(case_id), case=reference
                )
                return
            await _set_replying(services, chat_id, case_id)
            await _say(context, chat_id, "officer_reply_prompt", case=reference)
        elif action == "close":
            await ask_outcome(context, chat_id, officer, case_id)
        elif action == "outcome" and len(parts) == 4 and parts[3] in OUTCOMES:
            await ask_last_message(context, chat_id, officer, case_id, parts[3])
            await _remove_buttons(update)
        elif action == "closenow" and len(parts) == 4 and parts[3] in OUTCOMES:
            await _remove_buttons(update)
            await close_case(context, chat_id, officer, case_id, parts[3], last_message=None)
        elif action == "reopen":
            await _remove_buttons(update)
            await reopen(context, chat_id, officer, case_id)
        elif action == "esc":
            await escalate(context, chat_id, officer, case_id)
        elif action == "open":
            await show_case(context, chat_id, officer, case_id)
        else:
            await _say(context, chat_id, "officer_stale_button")
    except (AccessDenied, UnknownCase):
        await _say(context, chat_id, "officer_not_yours")
    except CaseClosed:
        try:
            reference = await _reference(services, case_id, officer)
        except AccessDenied:
            await _say(context, chat_id, "officer_not_yours")
            return
        await _say(context, chat_id, "officer_case_closed", render.reopen_button(case_id), case=reference)


async def ask_last_message(
    context: BotContext, chat_id: int, officer: Officer, case_id: int, outcome: str
) -> None:
    """The outcome is chosen: the next text is the student's last message, or the button closes now."""
    services = context.services
    async with services.db.transaction() as session:
        await intake.open_case_for_officer(session, case_id, officer.id)  # open and theirs, or raises
    reference = await _reference(services, case_id, officer)
    await _save_state(services, chat_id, {"closing": case_id, "outcome": outcome})
    await _say(
        context, chat_id, "officer_close_last_message", render.close_now_button(case_id, outcome),
        case=reference, outcome=catalog.t(f"officer_outcome_{outcome}"),
    )  # fmt: skip


async def close_case(
    context: BotContext,
    chat_id: int,
    officer: Officer,
    case_id: int,
    outcome: str,
    *,
    last_message: str | None,
) -> None:
    """Close, with the student's last message first if there is one (sealed, then notified)."""
    services = context.services
    try:
        async with services.db.transaction() as session:
            await lifecycle.close(
                session, services.policy, case_id, officer.id, outcome, services.now(),
                last_message=last_message, keys=services.keys,
            )  # fmt: skip
    except (CaseClosed, AccessDenied, UnknownCase) as refused:
        # E.g. a colleague closed it while this officer typed the last message: nothing was sent.
        await _set_replying(services, chat_id, None)
        if not isinstance(refused, CaseClosed):
            await _say(context, chat_id, "officer_not_yours")
            return
        reference = await _reference(services, case_id, officer)
        await _say(context, chat_id, "officer_case_closed", render.reopen_button(case_id), case=reference)
        return
    await _set_replying(services, chat_id, None)
    if last_message:
        services.outbox_ready.set()
    logger.info("officer.closed with_message=%s", bool(last_message))
    await _say(
        context, chat_id, "officer_closed_with_message" if last_message else "officer_closed",
        case=await _reference(services, case_id, officer), outcome=catalog.t(f"officer_outcome_{outcome}"),
        days=services.settings.retention_days,
    )  # fmt: skip


async def reopen(context: BotContext, chat_id: int, officer: Officer, case_id: int) -> None:
    """Open a closed case again (audited); a message held back because it was closed is sent now."""
    services = context.services
    try:
        reference = await _reference(services, case_id, officer)
    except AccessDenied:
        await _say(context, chat_id, "officer_not_yours")
        return
    state = await _state(services, chat_id)
    held = state.get("held_text") if state.get("held_for") == case_id else None
    try:
        async with services.db.transaction() as session:
            await lifecycle.reopen(session, case_id, officer.id, services.now())
            if isinstance(held, str):
                await intake.add_message(
                    session, services.keys, services.policy, case_id,
                    direction="officer", body={"text": held}, now=services.now(),
                    author_officer_id=officer.id,
                )  # fmt: skip
    except InvalidTransition:
        await _say(context, chat_id, "officer_not_closed", case=reference)
        return
    except (AccessDenied, UnknownCase):
        await _say(context, chat_id, "officer_not_yours")
        return
    if isinstance(held, str):
        await _set_replying(services, chat_id, None)
        services.outbox_ready.set()
    logger.info("officer.reopened")
    await _say(context, chat_id, "officer_reopened_and_sent" if isinstance(held, str) else "officer_reopened",
               case=reference)  # fmt: skip


async def acknowledge(context: BotContext, chat_id: int, officer: Officer, case_id: int) -> None:
    services = context.services
    async with services.db.transaction() as session:
        ack = await lifecycle.acknowledge(session, services.policy, case_id, officer.id, services.now())
        who = await officers.display_name(session, ack.acknowledged_by)
        reference = await references.reference_for_officer(session, case_id, officer.id)
    if ack.already and ack.acknowledged_by != officer.id:
        await _say(context, chat_id, "officer_already_acknowledged", case=reference, officer=who or "")
        return
    services.outbox_ready.set()
    logger.info("officer.acknowledged")
    await _say(context, chat_id, "officer_acknowledged", case=reference)


async def escalate(context: BotContext, chat_id: int, officer: Officer, case_id: int) -> None:
    services = context.services
    async with services.db.transaction() as session:
        route = await escalation.escalate_now(session, services.policy, case_id, officer.id, services.now())
        reference = await references.reference_for_officer(session, case_id, officer.id)
    if route is None:
        await _say(context, chat_id, "officer_escalate_top", case=reference)
        return
    services.outbox_ready.set()
    await _say(context, chat_id, "officer_escalated", case=reference, level=routing.LEVEL_NAMES[route.level])


async def _remove_buttons(update: Update) -> None:
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await mark_choice(query.message, query.data or "")


# --- the officer's own small state: which case the next text answers --------------------------------


# One of: {"replying_to": case} after Reply; {"closing": case, "outcome": o} after an outcome (the next
# text is the last message); {"held_for": case, "held_text": ...} after a message to a closed case.


async def _state(services: Services, chat_id: int) -> dict[str, object]:
    async with services.db.transaction() as session:
        state = await drafts.load_state(
            session, services.keys, services.keys.pseudonym(chat_id), services.now()
        )
    return dict(state or {})


async def _save_state(services: Services, chat_id: int, state: dict[str, object]) -> None:
    async with services.db.transaction() as session:
        await drafts.save_state(
            session, services.keys, services.keys.pseudonym(chat_id), state, services.now()
        )


async def _set_replying(services: Services, chat_id: int, case_id: int | None) -> None:
    if case_id is None:
        async with services.db.transaction() as session:
            await drafts.delete_state(session, services.keys.pseudonym(chat_id))
    else:
        await _save_state(services, chat_id, {"replying_to": case_id})
