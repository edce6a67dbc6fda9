"""What officers read: tips, additions, notices, case threads. Never anything that identifies a student."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import catalog
from bot.state import FIELDS
from casework.case_reading import CaseSummary, ThreadMessage
from nlu import taxonomy

MAX_MESSAGE = 4000  # Telegram allows 4096 characters


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %b %d, %H:%M").replace(" 0", " ")


def body_lines(body: dict[str, str]) -> list[str]:
    """The student's words and interview answers, labelled."""
    if "question" in body:
        return [catalog.t("summary_question", value=body["question"])]
    if "text" in body:
        return [catalog.t("officer_student_text", value=body["text"])]
    return [catalog.t(f"summary_{name}", value=body[name]) for name in FIELDS if body.get(name)]


def case_header(summary: CaseSummary, school: str | None, zone: ZoneInfo) -> str:
    marker = catalog.t("officer_urgent_marker") if summary.urgent else catalog.t("officer_normal_marker")
    kind = (
        catalog.t("officer_kind_question") if summary.kind == "question" else taxonomy.label(summary.intent)
    )
    # The marker is HTML already; the rest is data and is escaped here.
    return catalog.raw(
        "officer_case_header",
        marker=marker,
        category=html.escape(kind, quote=False),
        school=html.escape(school or catalog.t("officer_no_school"), quote=False),
        case=html.escape(summary.reference, quote=False),
        time=local_time(summary.created_at, zone),
    )


def clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def tip_text(
    summary: CaseSummary, school: str | None, first: ThreadMessage, zone: ZoneInfo, *, prefix: str = ""
) -> str:
    parts = [prefix, case_header(summary, school, zone), "\n".join(body_lines(first.body))]
    return clip("\n\n".join(p for p in parts if p))


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
    if summary.status != "new":
        first = first[1:]
    return InlineKeyboardMarkup([first, second])


def reply_only(case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(catalog.t("officer_reply_button"), callback_data=f"o:reply:{case_id}")]]
    )


def thread_text(
    summary: CaseSummary,
    school: str | None,
    messages: Sequence[ThreadMessage],
    zone: ZoneInfo,
    names: dict[int, str],
) -> str:
    """A whole case for `/case N`: the student's messages and the officers' replies, oldest first."""
    lines = [case_header(summary, school, zone), catalog.t(f"officer_status_{summary.status}")]
    for message in messages:
        when = local_time(message.created_at, zone)
        if message.direction == "officer":
            author = names.get(message.author_officer_id or 0, catalog.t("officer_someone"))
            text = message.body.get("text", "")
            lines.append(catalog.t("officer_thread_officer", author=author, when=when, text=text))
        else:
            lines.append(
                catalog.t("officer_thread_student", when=when) + "\n" + "\n".join(body_lines(message.body))
            )
    text = "\n\n".join(lines)
    if len(text) > MAX_MESSAGE:  # the newest messages matter most
        text = lines[0] + "\n\n…" + text[-(MAX_MESSAGE - len(lines[0]) - 4) :]
    return text
