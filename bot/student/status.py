"""`/status CODE`: the case's state and every officer reply; and answering the officer."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from bot import delivery_media, textparts
from bot.state import FIELDS, Step
from bot.student import feedback, language
from bot.student.sending import add_to_case, fragments, send_document
from bot.textparts import Fragment, Html
from bot.turn import Turn
from casework import evidence, rate_limits
from casework.cases import labels, reading
from casework.cases.codes import CaseCode
from casework.cases.reading import StudentView, ThreadMessage
from casework.delivery import failures
from casework.errors import BadCheckCharacter, MalformedCode, UnknownCaseCode
from storage.models import CaseStatus, Direction

logger = logging.getLogger(__name__)

# Wrong codes: a few are typos; more than that within the window slows the chat down,
# doubling each time (casework.rate_limits).
MISSES_ALLOWED = 3
MISS_WINDOW = timedelta(minutes=5)


def when(turn: Turn, moment: datetime) -> str:
    local = moment.astimezone(turn.services.policy.timezone)
    if turn.language == "fr":
        return language.short_time_fr(local)
    return local.strftime("%b %d, %H:%M").replace(" 0", " ")


def message_text(turn: Turn, message: ThreadMessage) -> list[Fragment]:
    """A message's words; a report's answers each under its label, as in the preview (a bare "No"
    means nothing without "Anyone in danger now")."""
    body = message.body
    if evidence.is_image(body):  # an image: "Show the images" sends it back
        line: list[Fragment] = [Html(turn.text("status_thread_image", index=body.get("image", "?")))]
        return [*line, Html("\n"), body["caption"]] if body.get("caption") else line
    # The student said an image showed someone naked or sexual: it was never kept, the officer told.
    intimate: list[Fragment] = (
        [Html(turn.text("status_thread_intimate"))] if evidence.INTIMATE_KEY in body else []
    )
    if "text" in body:
        return [body["text"], *([Html("\n"), *intimate] if intimate else [])]
    if "question" in body:
        return [body["question"]]
    lines = [fragments(turn, f"summary_{name}", value=body[name]) for name in FIELDS if body.get(name)]
    if not lines:  # a follow-up that is only the mark (bot.student.evidence)
        return intimate
    return [Html("\n"), *textparts.joined([*lines, *([intimate] if intimate else [])], "\n")]


def render(turn: Turn, view: StudentView, *, nobody_reached: bool = False) -> list[Fragment]:
    """The case's state and the whole conversation, every word of it (split over messages if long)."""
    header = turn.text(
        "status_header",
        kind=turn.text(f"status_kind_{view.kind.value}"),
        sent=when(turn, view.created_at),
        status=turn.text(f"status_{view.status.value}"),
    )
    blocks: list[list[Fragment]] = [[Html(header)]]
    if view.label:
        blocks.append(
            fragments(turn, "status_label_line", label=labels.in_language(view.label, turn.language))
        )
    if count := image_count(view):
        blocks.append([Html(turn.text("status_images_one" if count == 1 else "status_images", count=count))])
    if nobody_reached and view.status == CaseStatus.NEW:
        blocks.append([Html(turn.text("status_nobody_reached"))])
    for message in view.messages:
        key = "status_thread_officer" if message.direction == Direction.OFFICER else "status_thread_student"
        text = message_text(turn, message)
        blocks.append(fragments(turn, key, when=when(turn, message.created_at), text=text))
    if view.status == CaseStatus.CLOSED:
        # The officer's last message (if any) is the thread's end above; then what "closed" means.
        blocks.append([Html(turn.text("status_closed_line"))])
    elif not any(m.direction == Direction.OFFICER for m in view.messages):
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
            view = await reading.read_case_as_student(session, services.keys, code_text)
            unreached = await failures.nobody_reached(session, view.case_id)
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
    closed = view.status == CaseStatus.CLOSED
    if closed:
        turn.state.unfollow()
    else:
        # What the student types next is most likely about this case: it is offered to it (one tap).
        turn.state.follow(view.case_id, view.label, turn.services.now().timestamp())
    document = render(turn, view, nobody_reached=unreached)
    # "Answer the officer" only once there is something to answer, and never on a closed case.
    answerable = not closed and any(m.direction == "officer" for m in view.messages)
    buttons = [[("reply_button", "reply")]] if answerable else []
    if image_count(view):
        # The code rides in the button (it is in this chat already): the server keeps no copy of it.
        buttons.append([("status_show_images_button", f"images:{CaseCode.parse(code_text).display()}")])
    await send_document(turn, document, buttons=buttons or None)
    if closed:
        await feedback.ask_if_first_time(turn, view.case_id)
    return Step.IDLE


def image_count(view: StudentView) -> int:
    return sum(1 for m in view.messages if evidence.is_image(m.body))


async def show_images_button(turn: Turn, code_text: str) -> Step | None:
    """'Show the images' under a case's status: each image sent back to the student, decrypted with
    the code the button carries, as a photo (or a file when a photo would not keep it readable)."""
    if await _blocked_for(turn) is not None:
        return None
    services = turn.services
    try:
        async with services.db.transaction() as session:
            found = await evidence.case_images_for_student(session, services.keys, code_text)
    except (MalformedCode, BadCheckCharacter, UnknownCaseCode):
        await _count_miss(turn)  # only a forged button gets here: counted like a wrong code
        await turn.say("status_images_gone")
        return turn.state.step
    for image in found.images:
        caption = delivery_media.caption("status_image_caption", image, turn.language, with_caption=False)
        media = delivery_media.MediaRendered(image, caption, None, delivery_media.file_name(image))
        turn.sent(await delivery_media.send_media(turn.context.bot, turn.chat_id, media))  # /forget
    logger.info("student.images_shown count=%d", len(found.images))
    if found.unopened:  # altered in the database: the supervisors are alerted, the others shown
        services.outbox_ready.set()
        await turn.say("status_images_unopened", count=found.unopened)
    return turn.state.step


FOLLOW_UP_BUTTONS = [[("follow_up_yes_button", "follow:yes")], [("follow_up_no_button", "follow:no")]]


async def offer_follow_up(turn: Turn, text: str) -> Step:
    """Text typed right after a case was shown: held, and one tap sends it to that case.

    Asked, not guessed: an answer to the officer must not start a new interview, and a new report
    must not land unseen in an old case. More text typed before the tap joins the held message.
    """
    held = turn.state.pending_text if turn.state.step == Step.FOLLOW_UP else None
    turn.state.pending_text = f"{held}\n{text}" if held else text
    label = turn.state.follow_label
    if label:
        shown = labels.in_language(label, turn.language)
        await turn.say("follow_up_ask_label", label=shown, buttons=FOLLOW_UP_BUTTONS)
    else:
        await turn.say("follow_up_ask", buttons=FOLLOW_UP_BUTTONS)
    return Step.FOLLOW_UP


async def send_follow_up(turn: Turn, case_id: int, text: str) -> Step:
    """'Yes, send it': the held text goes to the case, which stays current for more."""
    if await add_to_case(turn, case_id, {"text": text}):
        logger.info("student.follow_up_sent")
        await turn.say("follow_up_sent")
        turn.state.follow(case_id, turn.state.follow_label, turn.services.now().timestamp())
    else:
        await turn.say("status_closed_no_reply")
        turn.state.unfollow()
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
