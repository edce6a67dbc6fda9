"""`/status CODE`: the case's state and every officer reply; and answering the officer."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from bot import textparts
from bot.state import FIELDS, Step
from bot.student.sending import add_to_case, fragments, send_document
from bot.textparts import Fragment, Html
from bot.turn import Turn
from casework import case_reading, delivery_failures, rate_limits
from casework.case_reading import StudentView, ThreadMessage
from casework.errors import BadCheckCharacter, MalformedCode, UnknownCaseCode

logger = logging.getLogger(__name__)

# Wrong codes: a few are typos; more than that within the window slows the chat down,
# doubling each time (casework.rate_limits).
MISSES_ALLOWED = 3
MISS_WINDOW = timedelta(minutes=5)


def when(turn: Turn, moment: datetime) -> str:
    local = moment.astimezone(turn.services.policy.timezone)
    return local.strftime("%b %d, %H:%M").replace(" 0", " ")


def message_text(message: ThreadMessage) -> str:
    body = message.body
    if "text" in body:
        return body["text"]
    if "question" in body:
        return body["question"]
    return " / ".join(body[name] for name in FIELDS if body.get(name))


def render(turn: Turn, view: StudentView, *, nobody_reached: bool = False) -> list[Fragment]:
    """The case's state and the whole conversation, every word of it (split over messages if long)."""
    header = turn.text(
        "status_header",
        kind=turn.text(f"status_kind_{view.kind}"),
        sent=when(turn, view.created_at),
        status=turn.text(f"status_{view.status}"),
    )
    blocks: list[list[Fragment]] = [[Html(header)]]
    if nobody_reached and view.status == "new":
        blocks.append([Html(turn.text("status_nobody_reached"))])
    for message in view.messages:
        key = "status_thread_officer" if message.direction == "officer" else "status_thread_student"
        blocks.append(fragments(turn, key, when=when(turn, message.created_at), text=message_text(message)))
    if not any(m.direction == "officer" for m in view.messages):
        blocks.append([Html(turn.text("status_no_replies"))])
    return textparts.joined(blocks)


async def _blocked_for(turn: Turn) -> int | None:
    """Seconds left if this chat is slowed down for wrong codes."""
    services = turn.services
    async with services.db.transaction() as session:
        until = await rate_limits.blocked_until(
            session, services.keys, turn.pseudonym, "status-miss", services.now()
        )
    if until is None:
        return None
    return max(1, math.ceil((until - services.now()).total_seconds()))


async def _count_miss(turn: Turn) -> None:
    services = turn.services
    async with services.db.transaction() as session:
        await rate_limits.hit(
            session,
            services.keys,
            turn.pseudonym,
            "status-miss",
            limit=MISSES_ALLOWED,
            window=MISS_WINDOW,
            now=services.now(),
        )


async def check_status(turn: Turn, code_text: str) -> Step:
    """Look a case up by its code; the kind of mistake is told apart, wrong codes slow down."""
    wait = await _blocked_for(turn)
    if wait is not None:
        await turn.say("status_slow_down", seconds=wait)
        return Step.IDLE
    services = turn.services
    try:
        async with services.db.transaction() as session:
            view = await case_reading.read_case_as_student(session, services.keys, code_text)
            unreached = await delivery_failures.nobody_reached(session, view.case_id)
    except MalformedCode:
        await turn.say("status_malformed")
        return Step.STATUS_CODE
    except BadCheckCharacter:
        await _count_miss(turn)
        await turn.say("status_bad_check")
        return Step.STATUS_CODE
    except UnknownCaseCode:
        await _count_miss(turn)
        await turn.say("status_unknown")
        return Step.IDLE
    turn.state.case_id = view.case_id
    closed = view.status == "closed"
    document = render(turn, view, nobody_reached=unreached)
    await send_document(turn, document, buttons=None if closed else [[("reply_button", "reply")]])
    return Step.IDLE


async def ask_for_code(turn: Turn) -> Step:
    await turn.say("status_ask_code")
    return Step.STATUS_CODE


async def start_reply(turn: Turn) -> Step:
    if turn.state.case_id is None:
        return await ask_for_code(turn)
    await turn.say("status_reply_prompt")
    return Step.STATUS_REPLY


async def reply(turn: Turn, text: str) -> Step:
    case_id = turn.state.case_id
    if case_id is None:
        return await ask_for_code(turn)
    if await add_to_case(turn, case_id, {"text": text}):
        await turn.say("status_reply_sent")
    else:
        await turn.say("status_closed_no_reply")
    turn.state.case_id = None
    return Step.IDLE
