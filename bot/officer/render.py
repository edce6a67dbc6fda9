"""What officers read: tips, additions, notices, case threads. Never anything that identifies a student.

Renderers return documents (bot.textparts): catalog markup and the student's
words as plain text, so that splitting into Telegram messages happens before
escaping and nothing a student wrote is ever cut off.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import catalog, textparts
from bot.state import FIELDS
from bot.textparts import Fragment, Html
from casework import evidence
from casework.cases.reading import CaseSummary, ThreadMessage
from casework.delivery.routing import LANGUAGE_KEY
from nlu import taxonomy
from storage.models import CaseKind, CaseStatus, Direction, Outcome


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %b %d, %H:%M").replace(" 0", " ")


def fragments(key: str, **values: Fragment | int) -> list[Fragment]:
    """A catalog template as a document: its markup kept, str values as plain text (escaped at layout)."""
    return textparts.template(catalog.messages()[key], values)


def body_document(body: dict[str, str]) -> list[Fragment]:
    """The student's words and interview answers, labelled, one per line."""
    if evidence.is_image(body):  # an image: shown beside the thread (bot.officer.images), named here
        return image_line(body)
    # Written in French: said first, and the words shown as written (nothing is machine-translated).
    french = body.get(LANGUAGE_KEY) == "fr"
    marker = [[Html(catalog.t("officer_written_in_fr"))]] if french else []
    if "question" in body:
        blocks = [fragments("summary_question", value=body["question"])]
    elif "text" in body:
        blocks = [fragments("officer_student_text", value=body["text"])]
    else:
        blocks = [fragments(f"summary_{name}", value=body[name]) for name in FIELDS if body.get(name)]
    if evidence.INTIMATE_KEY in body:  # the image was neither kept nor forwarded (bot.student.evidence)
        blocks.append([Html(catalog.t("officer_intimate_image_marker"))])
    return textparts.joined([*marker, *blocks], "\n")


def image_line(body: dict[str, str]) -> list[Fragment]:
    """An image message in a thread: "📎 Image k", with the student's caption if there was one."""
    line = Html(catalog.t("officer_thread_image", index=body.get(evidence.sealing.IMAGE_KEY, "?")))
    caption = body.get("caption")
    return [line, Html("\n"), caption] if caption else [line]


def kind_label(summary: CaseSummary) -> str:
    """What a case is about, for its header and the /cases list: "Question", or the report's category."""
    if summary.kind == CaseKind.QUESTION:
        return catalog.t("officer_kind_question")
    return taxonomy.label(summary.intent)


def status_text(status: CaseStatus, *, by: str | None = None) -> str:
    """A case's status in the catalog's words (HTML): "New: not acknowledged yet", "Acknowledged by …"."""
    # The catalog keys are built from the stored values (officer_status_in_progress, …_by).
    if by is not None:
        return catalog.t(f"officer_status_{status.value}_by", officer=by)
    return catalog.t(f"officer_status_{status.value}")


def outcome_text(outcome: Outcome) -> str:
    """An outcome in the catalog's words (officer_outcome_<value>)."""
    return catalog.t(f"officer_outcome_{outcome.value}")


def case_header(summary: CaseSummary, school: str | None, zone: ZoneInfo) -> str:
    marker = catalog.t("officer_urgent_marker") if summary.urgent else catalog.t("officer_normal_marker")
    kind = kind_label(summary)
    # The marker is HTML already; the rest is data and is escaped here.
    return catalog.raw(
        "officer_case_header",
        marker=marker,
        category=html.escape(kind, quote=False),
        school=html.escape(school or catalog.t("officer_no_school"), quote=False),
        case=html.escape(summary.reference, quote=False),
        time=local_time(summary.created_at, zone),
    )


def tip_document(
    summary: CaseSummary,
    school: str | None,
    first: ThreadMessage,
    zone: ZoneInfo,
    *,
    prefix: str = "",
    images: int = 0,
) -> list[Fragment]:
    """A tip whole: the prefix (escalated, reminder), the header, everything the student wrote, and
    how many images follow (bot.delivery_media sends each on its own)."""
    key = "officer_tip_images_one" if images == 1 else "officer_tip_images"
    follow = [Html(catalog.t(key, count=images))] if images else []
    return textparts.joined(
        [[Html(prefix)], [Html(case_header(summary, school, zone))], body_document(first.body), follow]
    )


def continued(summary: CaseSummary) -> list[Fragment]:
    """The first line of every part after the first of a long message: which case it continues."""
    return [Html(catalog.t("officer_continued", case=summary.reference) + "\n")]


def addition_document(heading: str, body: dict[str, str]) -> list[Fragment]:
    """A student's later message: the heading (catalog HTML), then their words."""
    return textparts.joined([[Html(heading)], body_document(body)])


def case_buttons(summary: CaseSummary) -> InlineKeyboardMarkup:
    """Acknowledge, Reply, Close, and Escalate on urgent cases."""
    case = summary.case_id
    first = [
        InlineKeyboardButton(catalog.t("officer_ack_button"), callback_data=f"o:ack:{case}"),
        InlineKeyboardButton(catalog.t("officer_reply_button"), callback_data=f"o:reply:{case}"),
    ]
    second = [InlineKeyboardButton(catalog.t("officer_close_button"), callback_data=f"o:close:{case}")]
    if summary.urgent:
        second.append(
            InlineKeyboardButton(catalog.t("officer_escalate_button"), callback_data=f"o:esc:{case}")
        )
    if summary.status != CaseStatus.NEW:
        first = first[1:]
    return InlineKeyboardMarkup([first, second])


def reopen_button(case_id: int, *, send: bool = False) -> InlineKeyboardMarkup:
    """Under "case is closed": reopen it (and send the message that was held back, if `send`)."""
    key = "officer_reopen_and_send_button" if send else "officer_reopen_button"
    return InlineKeyboardMarkup([[InlineKeyboardButton(catalog.t(key), callback_data=f"o:reopen:{case_id}")]])


def outcome_buttons(case_id: int) -> InlineKeyboardMarkup:
    """One button per outcome, in `Outcome`'s order; the data holds the value (never typed), in 64 bytes."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(outcome_text(o), callback_data=f"o:outcome:{case_id}:{o.value}")]
            for o in Outcome
        ]
    )


def close_now_button(case_id: int, outcome: Outcome) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.t("officer_close_now_button"),
                    callback_data=f"o:closenow:{case_id}:{outcome.value}",
                )
            ]
        ]
    )


def waited(span: timedelta) -> str:
    """How long a case went unacknowledged, in words: whole minutes (at least one), hours past two."""
    minutes = max(1, round(span.total_seconds() / 60))
    if minutes >= 120:
        return catalog.t("officer_wait_hours", count=minutes // 60)
    if minutes == 1:
        return catalog.t("officer_wait_minute")
    return catalog.t("officer_wait_minutes", count=minutes)


def reply_only(case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(catalog.t("officer_reply_button"), callback_data=f"o:reply:{case_id}")]]
    )


def thread_document(
    summary: CaseSummary,
    school: str | None,
    messages: Sequence[ThreadMessage],
    zone: ZoneInfo,
    names: dict[int, str],
) -> list[Fragment]:
    """A whole case for `/case N`: the student's messages and the officers' replies, oldest first."""
    blocks: list[list[Fragment]] = [
        [Html(case_header(summary, school, zone))],
        [Html(status_text(summary.status))],
    ]
    for message in messages:
        when = local_time(message.created_at, zone)
        if message.direction == Direction.OFFICER:
            author = names.get(message.author_officer_id or 0, catalog.t("officer_someone"))
            text = message.body.get("text", "")
            blocks.append(fragments("officer_thread_officer", author=author, when=when, text=text))
        else:
            heading = Html(catalog.t("officer_thread_student", when=when) + "\n")
            blocks.append([heading, *body_document(message.body)])
    return textparts.joined(blocks)


def thread_parts(
    summary: CaseSummary,
    school: str | None,
    messages: Sequence[ThreadMessage],
    zone: ZoneInfo,
    names: dict[int, str],
) -> list[str]:
    """`thread_document` as Telegram messages, in order; nothing left out."""
    return textparts.html_parts(thread_document(summary, school, messages, zone, names))


def html_lines(lines: Sequence[str]) -> list[str]:
    """Lines of catalog HTML (e.g. /cases) as messages, split between lines."""
    return textparts.html_parts(textparts.joined([[Html(line)] for line in lines], "\n"))
