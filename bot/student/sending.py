"""Handing a report or question to the case store, and telling the student honestly what happened."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog, textparts
from bot.state import FIELDS, Draft
from bot.student import evidence_files
from bot.textparts import Fragment
from bot.turn import Button, Turn
from casework import evidence, rate_limits
from casework.cases import intake, labels
from casework.cases.codes import CaseCode
from casework.delivery import outbox, routing
from casework.errors import CaseworkError, NoRecipients
from nlu.language import detect
from storage.models import CaseKind, Direction

logger = logging.getLogger(__name__)

NOTIFY_BUTTONS = [[("notify_yes_button", "notify:yes"), ("notify_no_button", "notify:no")]]
# A pressed button's label is appended to its message (bot.turn.mark_choice): keep room for it.
BUTTON_ROOM = 64
# New urgent cases a chat may open in a window (counted by pseudonym, like its messages): past it,
# urgent words go to its last urgent case as an addition (`open_urgent`), still to the officer at once.
URGENT_CASES = rate_limits.Limit("urgent-cases", 3, timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class Sent:
    case_id: int
    code: str
    delivered: bool  # False: stored, waiting for an officer who can receive it
    label: str | None = None  # "🦊 fox": shown with the code, named by the discreet notice


@dataclass(frozen=True, slots=True)
class Added:
    """Urgent words added to the chat's last urgent case instead of opening one more."""

    case_id: int


def school_answer_wait(turn: Turn) -> timedelta:
    return timedelta(seconds=turn.services.settings.school_answer_seconds)


def case_body(draft: Draft) -> dict[str, str]:
    """What the officer will read: the student's own words and interview answers."""
    if draft.kind == CaseKind.QUESTION:
        return {"question": draft.answers.get("question", "")}
    body = {name: draft.answers[name] for name in FIELDS if draft.answers.get(name)}
    if draft.intimate_image:  # the image itself was never kept (bot.student.evidence)
        body[evidence.INTIMATE_KEY] = "1"
    return body


# The body's values the student typed (not a button's label, not a flag), for their language.
_TYPED = ("what", "where", "when", "more", "question", "text", "caption")


def with_language(body: dict[str, str]) -> dict[str, str]:
    """The body, marked with the language its words are written in when it is not English, so the
    officer sees "written in French" (the words as written: nothing is translated) and a French tip
    prefers officers who read it (routing.LANGUAGE_KEY). Sealed with the words, like them."""
    written = detect("\n".join(body[key] for key in _TYPED if body.get(key)))
    return {**body, routing.LANGUAGE_KEY: written} if written != "en" else body


async def open_urgent(turn: Turn, draft: Draft) -> Sent | Added | None:
    """An urgent draft to the officer: a new case while the chat is under URGENT_CASES; past it, an
    addition to the chat's last urgent case, which reaches the officer as fast; a new case anyway if
    there is none to add to (the state forgot it, or it is closed): never lost, never held back.

    So danger words forwarded, edited or typed again and again reach the officer every time, without
    opening a case (a tip, an escalation) each time. A draft with images is always a case of its own
    (it took the student several taps to make).
    """
    last = turn.state.last_urgent_case_id
    if turn.urgent_room is False and last is not None and not draft.images:
        services = turn.services
        async with services.db.read() as session:  # a crash's replay: the case its first run opened
            existing = await _already_sent(session, turn, draft)
        if existing is not None:
            return existing
        if await add_to_case(turn, last, case_body(draft)):  # labelled as the report's own answers
            logger.info("case.urgent_added reason=cap")
            return Added(last)
    return await open_case(turn, draft, counted=URGENT_CASES)


async def open_case(turn: Turn, draft: Draft, *, counted: rate_limits.Limit | None = None) -> Sent | None:
    """Store the case and queue its delivery in one transaction; None if nobody could ever read it.

    Idempotent on the draft's send token (a unique key in the database): a second Send of the same
    draft, even after a failure half-way or from another bot instance, finds the first case.
    `counted`: the case counts against this limit of the chat's, in the same transaction.
    """
    services = turn.services
    code = CaseCode(draft.case_code)
    # Fetched before the transaction, stored inside it: the tip never goes without its images.
    images = await evidence_files.prepare(turn, draft.images) if draft.images else []

    async def with_images(session: AsyncSession, opened: intake.OpenedCase) -> None:
        if images:
            await evidence_files.store_prepared(session, opened.case_id, images, services.now())
        if counted is not None:
            await rate_limits.hit(
                session, services.keys, turn.pseudonym, counted.bucket,
                limit=counted.limit, window=counted.window, now=services.now(),
            )  # fmt: skip

    new = intake.NewCase(
        school_id=turn.state.school_id,
        kind=draft.kind,
        intent=draft.intent,
        urgent=draft.urgent,
        body=with_language(case_body(draft)),
        now=services.now(),
        # Urgent before a school is known: the school's officers if the student names it in time,
        # else the supervisors (intake.open_case).
        hold=school_answer_wait(turn) if draft.urgent and turn.state.school_id is None else None,
        code=code,
        send_key=draft.send_token,
    )
    try:
        # Together with the cases other students send at this moment, in one transaction: answered
        # only once it has committed; a case that fails there is opened again alone (intake_batch).
        opened = await services.cases.open(new, then=with_images if images or counted else None)
    except NoRecipients:
        # Nobody could receive a new case now; but one opened from this draft before (a crash) is sent.
        async with services.db.read() as session:
            existing = await _already_sent(session, turn, draft)
        if existing is None:
            logger.warning("case.not_opened reason=no_recipients")
        return existing
    except IntegrityError:
        # This draft's case exists already (its send key is unique): opened before a crash, or at the
        # same moment elsewhere. That case is this one (a read). Only then: asked first, it cost every
        # report a transaction for what happens after a crash.
        async with services.db.read() as session:
            existing = await _already_sent(session, turn, draft)
        if existing is None:
            raise
        return existing
    services.outbox_ready.set()
    logger.info("case.opened urgent=%s delivered=%s", draft.urgent, opened.delivered)
    return Sent(opened.case_id, opened.code, opened.delivered, opened.label)


async def _already_sent(session: AsyncSession, turn: Turn, draft: Draft) -> Sent | None:
    case_id = await intake.case_for_send_key(session, turn.services.keys, draft.send_token)
    if case_id is None:
        return None
    logger.info("case.send_repeated")
    delivered = not await outbox.waiting_for_case(session, case_id)
    label = await intake.case_label(session, turn.services.keys, case_id)
    return Sent(case_id, CaseCode(draft.case_code).display(), delivered, label)


async def tell_sent(turn: Turn, sent: Sent | None, *, urgent: bool) -> None:
    """The case code, how to use it, and the notification offer; or the honest 'not sent'."""
    if sent is None:
        await turn.say("nobody_can_receive")
        if urgent:
            await turn.say("nobody_can_receive_crisis")
        return
    if not sent.delivered:
        key = "sent_waiting"
    elif turn.state.school_id is None:
        key = "sent_no_school"
    else:
        key = "sent"
    text = turn.text(key, code=sent.code)
    if sent.label:
        text += "\n\n" + turn.text("case_label_line", label=labels.in_language(sent.label, turn.language))
    text += "\n\n" + turn.text("notify_offer")
    turn.state.case_id = sent.case_id
    turn.state.notify_case_id = sent.case_id
    if urgent:
        turn.state.last_urgent_case_id = sent.case_id
    await turn.send(text, buttons=NOTIFY_BUTTONS)


async def add_to_case(turn: Turn, case_id: int, body: dict[str, str]) -> bool:
    """Add a student message to an open case; False if the case cannot take it (closed, gone)."""
    services = turn.services
    try:
        async with services.db.transaction() as session:
            await intake.add_message(
                session,
                services.keys,
                services.policy,
                case_id,
                direction=Direction.STUDENT,
                body=with_language(body),
                now=services.now(),
            )
    except CaseworkError as error:
        logger.info("case.message_refused error=%s", type(error).__name__)
        return False
    services.outbox_ready.set()
    return True


async def set_notifications(turn: Turn, case_id: int, wanted: bool) -> None:
    services = turn.services
    async with services.db.transaction() as session:
        await intake.set_notify_address(session, services.keys, case_id, turn.chat_id if wanted else None)


def fragments(turn: Turn, key: str, **values: Fragment | Sequence[Fragment]) -> list[Fragment]:
    """A catalog text as a document: str values are the student's words, escaped only at layout."""
    return textparts.template(catalog.messages(turn.state.language)[key], values)


async def send_document(
    turn: Turn, document: Sequence[Fragment], *, buttons: Sequence[Sequence[Button]] | None = None
) -> None:
    """Everything in the document, over as many messages as it takes; the buttons under the last."""
    parts = textparts.html_parts(document, textparts.MESSAGE_LIMIT - BUTTON_ROOM)
    for number, part in enumerate(parts, start=1):
        await turn.send(part, buttons=buttons if number == len(parts) else None)
