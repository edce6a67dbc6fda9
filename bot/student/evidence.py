"""Photos and screenshots from students: read for danger at once, asked about once, then sealed.

An image arrives (a photo, or an image sent as a file). It is fetched into
memory, stripped of metadata, and its text read by Tesseract; that text (and
the caption) goes through the same classifier and safety net as typed text,
so a screenshot of a threat shows 911 and sends the report at once. Then one
message tells the student that screenshots can show their own name or
picture (crop and send again, or cancel) and asks one question with one tap:
does it show anyone naked or in a sexual way? Until the tap, the image is
only a file_id sealed in the chat's state. "No": it is sealed into the case
(a follow-up, an urgent report's addition) or held, still only as a file_id
in the sealed draft, until the report is sent. "Yes": nothing is kept or
forwarded, the student's message is deleted, they are told where to get
help, and the officer learns in words that the report involves an intimate
image. Statistics count nothing of images (the classifier is called
directly, not through `router.classify`, which records).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError

from bot.services import BotContext
from bot.state import Step
from bot.student import evidence_files, reports, router
from bot.student.handlers import student_turn
from bot.student.sending import add_to_case
from bot.turn import Button, Turn
from casework import evidence
from casework.errors import CaseworkError
from casework.evidence import strip
from casework.evidence.ocr import read_text
from nlu.result import Classification

logger = logging.getLogger(__name__)

MAX_PENDING = 10  # images waiting for their tap at once (an album of screenshots)


def question_buttons(message_id: int) -> list[list[Button]]:
    """The one-tap question's buttons, naming the student's message: each album image has its own."""
    return [
        [("evidence_no_button", f"img:no:{message_id}")],
        [("evidence_yes_button", f"img:yes:{message_id}")],
        [("evidence_cancel_button", f"img:cancel:{message_id}")],
    ]


MEGABYTE = 1024 * 1024
DRAFT = "draft"  # where a pending image goes: the report being written...
CASE = "case"  # ...or a case already sent (a follow-up, an urgent report's addition)
_DRAFT_STEPS = (Step.INTERVIEW, Step.PREVIEW, Step.EDIT_CHOICE, Step.URGENT_CONSENT)


def _file_of(message: Message) -> tuple[str, int | None] | None:
    """The file_id and announced size of the image in `message`: the largest photo size, or the file."""
    if message.photo:
        largest = message.photo[-1]
        return largest.file_id, largest.file_size
    if message.document is not None:
        return message.document.file_id, message.document.file_size
    return None


def _target(turn: Turn) -> tuple[str, int | None] | None:
    """Where an image sent now would go: the draft, a case (by id), or nowhere yet."""
    state = turn.state
    if state.step in _DRAFT_STEPS and state.draft is not None:
        return DRAFT, None
    if state.step in (Step.URGENT_DETAILS, Step.STATUS_REPLY) and state.case_id is not None:
        return CASE, state.case_id
    following = state.following(turn.services.now().timestamp())
    if following is not None:
        return CASE, following
    return None


async def _room(turn: Turn, target: tuple[str, int | None]) -> bool:
    """Whether the draft or case can take one more image, counting those still waiting for their tap
    (an 11th image is refused when it arrives, never after the student was told it was kept)."""
    kind, case_id = target
    waiting = sum(
        1
        for held in (turn.state.pending_image or {}).values()
        if isinstance(held, dict) and held.get("target") == kind and held.get("case_id") == case_id
    )
    if kind == DRAFT:
        draft = turn.state.draft
        return draft is not None and len(draft.images) + waiting < evidence.MAX_IMAGES_PER_CASE
    assert case_id is not None
    async with turn.services.db.transaction() as session:
        return await evidence.image_count(session, case_id) + waiting < evidence.MAX_IMAGES_PER_CASE


async def on_image(update: Update, context: BotContext) -> None:
    """Telegram entry point for a photo, or an image sent as a file."""
    message = update.effective_message
    if message is None:
        return
    found = _file_of(message)
    caption = message.caption or ""

    async def receive(turn: Turn) -> Step | None:
        if found is None:
            await turn.say("evidence_not_image")
            return None
        file_id, size = found
        if size is not None and size > strip.MAX_INPUT_BYTES:
            await turn.say("evidence_too_big", limit=strip.MAX_INPUT_BYTES // MEGABYTE)
            return None
        return await _receive(turn, message, file_id, caption)

    await student_turn(update, context, receive)


async def _receive(turn: Turn, message: Message, file_id: str, caption: str) -> Step | None:
    try:
        stripped = await evidence_files.fetch_stripped(turn, file_id)
    except evidence.ImageTooLarge:
        await turn.say("evidence_too_big", limit=strip.MAX_INPUT_BYTES // MEGABYTE)
        return None
    except evidence.NotAnImage:
        await turn.say("evidence_not_image")
        return None
    except TelegramError as error:
        logger.warning("evidence.download_failed error=%s", type(error).__name__)
        await turn.say("evidence_failed")
        return None
    ocr_text = await read_text(stripped.data)
    del stripped  # only its text is needed now; the image is fetched again once the student answers
    logger.info("evidence.received read=%s", ocr_text is not None)
    step = await _triage(turn, "\n".join(part for part in (caption, ocr_text or "") if part.strip()))
    if step is not None:
        turn.state.step = step  # an urgent report sent now: the image goes to it
    target = _target(turn)
    if target is None:
        if step is None:
            await turn.say("evidence_needs_report")
        return step
    if not await _room(turn, target):
        await turn.say("evidence_too_many", limit=evidence.MAX_IMAGES_PER_CASE)
        return step
    # Sealed in the chat's state, keyed by the student's message, until the tap (at most MAX_PENDING).
    pending = dict(list((turn.state.pending_image or {}).items())[-(MAX_PENDING - 1) :])
    pending[str(message.message_id)] = {
        "file_id": file_id,
        "message_id": message.message_id,
        "caption": caption or None,
        "ocr": ocr_text,
        "target": target[0],
        "case_id": target[1],
    }
    turn.state.pending_image = pending
    if ocr_text is None:
        await turn.say("evidence_unreadable")
    await turn.say("evidence_question", buttons=question_buttons(message.message_id))
    return step


async def _triage(turn: Turn, text: str) -> Step | None:
    """The image's words, as if typed: urgent means safety information and the report at once."""
    if not text.strip():
        return None
    state = turn.state
    if state.step == Step.URGENT_DETAILS or (state.draft is not None and state.draft.urgent):
        return None  # already an urgent report: the image joins it
    result = await turn.services.classifier.classify(text)  # not router.classify: no statistics
    intent = await router.safety_check(turn, text)
    if not result.urgent and intent is None:
        return None
    logger.info("evidence.urgent")
    return await _urgent(turn, text, result, intent)


async def _urgent(turn: Turn, text: str, result: Classification, net_intent: str | None) -> Step:
    draft = turn.state.draft
    intent = (router.urgent_intent(result) if result.urgent else None) or net_intent or "report_threat"
    if turn.state.step in (Step.INTERVIEW, Step.PREVIEW, Step.EDIT_CHOICE) and draft is not None:
        # As urgent words typed into a report being written (router.on_interview, on_preview): the
        # report, with everything already written, goes now.
        draft.urgent, draft.intent = True, intent
        draft.answers["more"] = "\n".join(p for p in (draft.answers.get("more"), text) if p)
        if intent == "report_self_harm":
            return await reports.ask_consent(turn)
        await turn.say_safety(reports.safety_key(intent))
        return await reports.send(turn)
    turn.state.draft = None
    turn.state.unfollow()
    ask_first = not reports.sent_at_once(result) if result.urgent else intent == "report_self_harm"
    return await reports.start_urgent(turn, text, intent, ask_first=ask_first, classification=result)


# --- the one tap --------------------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> None:
    """Telegram entry point for the intimate-image question's buttons (img:no|yes|cancel:<message id>)."""
    query = update.callback_query
    if query is None:
        return
    parts = (query.data or "").split(":")  # img:<choice>:<the student's message id>
    choice, key = [*parts, "", ""][1:3]

    async def press(turn: Turn) -> Step | None:
        held = turn.state.pending_image or {}
        pending = held.get(key)
        if not isinstance(pending, dict) or choice not in ("no", "yes", "cancel"):
            await query.answer(turn.text("stale_button"))
            if isinstance(query.message, Message):
                await query.message.edit_reply_markup(reply_markup=None)
            return None
        await query.answer()
        await turn.remove_buttons()
        # Answered: its file_id goes, whatever the answer.
        turn.state.pending_image = {k: v for k, v in held.items() if k != key} or None
        if choice == "yes":
            await _intimate(turn, pending)
        elif choice == "no":
            await _keep(turn, pending)
        else:
            await turn.say("evidence_cancelled")
        return None

    await student_turn(update, context, press)


async def _intimate(turn: Turn, pending: dict[str, Any]) -> None:
    """Not kept, not forwarded; the student's message deleted; kind words; the officer told in words."""
    try:
        await turn.context.bot.delete_message(turn.chat_id, int(pending["message_id"]))
    except TelegramError as error:  # older than 48 hours, or already deleted by the student
        logger.warning("evidence.delete_failed error=%s", type(error).__name__)
    logger.info("evidence.intimate_refused")
    await turn.say("evidence_intimate")
    marked = False
    if pending.get("target") == DRAFT and turn.state.draft is not None:
        turn.state.draft.intimate_image = True
        marked = True
    elif pending.get("target") == CASE and pending.get("case_id") is not None:
        marked = await add_to_case(turn, int(pending["case_id"]), {evidence.INTIMATE_KEY: "1"})
    if marked:
        await turn.say("evidence_intimate_marked")


async def _keep(turn: Turn, pending: dict[str, Any]) -> None:
    file_id = str(pending["file_id"])
    held = {"file_id": file_id, "caption": pending.get("caption"), "ocr": pending.get("ocr")}
    if pending.get("target") == DRAFT:
        draft = turn.state.draft
        if draft is None:
            await turn.say("evidence_needs_report")
            return
        if len(draft.images) >= evidence.MAX_IMAGES_PER_CASE:  # the report could not carry it
            await turn.say("evidence_too_many", limit=evidence.MAX_IMAGES_PER_CASE)
            return
        draft.images.append(held)
        await turn.say("evidence_attached")
        return
    case_id = pending.get("case_id")
    if case_id is None:
        await turn.say("evidence_needs_report")
        return
    await _add_to_case(turn, int(case_id), file_id, pending)


async def _add_to_case(turn: Turn, case_id: int, file_id: str, pending: dict[str, Any]) -> None:
    try:
        image = await evidence_files.fetch_stripped(turn, file_id)
    except (TelegramError, evidence.ImageRefused) as error:
        logger.warning("evidence.download_failed error=%s", type(error).__name__)
        await turn.say("evidence_failed")
        return
    services = turn.services
    try:
        async with services.db.transaction() as session:
            await evidence.store_image(
                session, case_id, image, ocr_text=pending.get("ocr"), caption=pending.get("caption"),
                now=services.now(), notify=True,
            )  # fmt: skip
    except evidence.TooManyImages:
        await turn.say("evidence_too_many", limit=evidence.MAX_IMAGES_PER_CASE)
        return
    except evidence.ImageTooBig:
        await turn.say("evidence_too_big", limit=strip.MAX_INPUT_BYTES // MEGABYTE)
        return
    except CaseworkError as error:  # a closed or purged case: like a refused text addition
        logger.info("evidence.not_added error=%s", type(error).__name__)
        await turn.say("evidence_case_closed")
        return
    services.outbox_ready.set()
    logger.info("evidence.stored")
    await turn.say("evidence_added")


# --- voice notes and videos -----------------------------------------------------------------


async def on_voice_or_video(update: Update, context: BotContext) -> None:
    """Refused with the reason (a voice or a face can identify the sender); an urgent caption still acts."""
    message = update.effective_message
    caption = (message.caption or "") if message is not None else ""

    async def refuse(turn: Turn) -> Step | None:
        if caption and turn.services.safety_net.check(caption) is not None:
            return await router.urgent_elsewhere(turn, caption)
        await turn.say("evidence_no_voice_video")
        return None

    await student_turn(update, context, refuse)
