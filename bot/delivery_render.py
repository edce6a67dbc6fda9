"""What an outbox row says, rendered for its recipient at send time: rows hold no text.

The worker (bot.delivery) calls `render_delivery` just before sending: a tip
or a student's addition is decrypted for the officer who receives it, an
alert for a supervisor names its kind and case only, a student's notice says
which case has news by its label. Every officer record is verified on the way
(a forged one raises, and its alert is committed first).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot import catalog, delivery_media
from bot.delivery_media import MediaRendered
from bot.officer import render
from bot.services import Services
from bot.textparts import Fragment, Html
from casework import evidence, officers
from casework.cases import intake, reading
from casework.delivery import alerts, routing
from storage.models import AlertKind, Case, Delivery, DeliveryKind, Officer, School

# What a supervisor reads for each alert: (with a case, without one). Kind and case number only.
ALERT_TEXTS = {
    AlertKind.RENDERING_FAILED: ("alert_rendering_failed", "alert_rendering_failed_no_case"),
    AlertKind.TAMPERED_MESSAGE: ("alert_tampered_message", "alert_tampered_message_no_case"),
    AlertKind.DIRECTORY_FORGED: ("alert_directory_forged", "alert_directory_forged_no_case"),
    AlertKind.NOBODY_REACHABLE: ("alert_nobody_reachable", "alert_nobody_reachable_no_case"),
    AlertKind.ALERT_FAILED: ("alert_alert_failed", "alert_alert_failed_no_case"),
    AlertKind.READER_ADDED: ("alert_reader_added", "alert_reader_added"),  # never about one case
}


@dataclass(frozen=True, slots=True)
class Rendered:
    chat_id: int
    document: list[Fragment] = field(default_factory=list)
    buttons: InlineKeyboardMarkup | None = None
    # Starts every part after the first of a long message: which case it continues.
    continued: list[Fragment] = field(default_factory=list)
    # An evidence image (bot.delivery_media): uploaded instead of the document.
    media: MediaRendered | None = None


class Undeliverable(Exception):
    """This row can never be sent (its case is gone, or a student notice lost its address); marked failed."""


class RecipientGone(Exception):
    """The officer can no longer receive (unreachable, deactivated, unenrolled): the row is rerouted."""


async def render_delivery(services: Services, row: Delivery) -> Rendered:
    """Decrypt and render one row for its recipient."""
    if row.kind == DeliveryKind.NOTIFY_STUDENT:
        return await _render_student_notice(services, row)
    if row.kind == DeliveryKind.ALERT:
        return await _render_alert(services, row)
    if row.officer_id is None or row.case_id is None:
        raise Undeliverable("an officer delivery without officer or case")
    rendered = await services.db.read_or_write(functools.partial(_render_for_officer, services, row))
    if rendered is None:
        raise RecipientGone("the officer cannot receive now")
    return rendered


async def _render_for_officer(services: Services, row: Delivery, session: AsyncSession) -> Rendered | None:
    """A row for its officer, read in one transaction; None if they cannot receive now.

    A read that takes no writer turn (Database.read_or_write): the officer's record is verified
    before every send, and a forged one's alert is written by running this again in a transaction
    that commits (returning None, not raising, so that the alert stays).
    """
    assert row.officer_id is not None  # checked by render_delivery
    assert row.case_id is not None
    # The case, its school and the officer in one query: the lookups below (each verifying what it
    # reads, as always) then find them in the session's identity map, which keeps a row only while
    # something refers to it: `_held` does, until this returns. None found: the lookups say why.
    _held = await _preload(session, row.case_id, row.officer_id)
    chat_id = await officers.chat_of(session, row.officer_id)
    if chat_id is None:
        return None
    summary = await reading.case_summary(session, row.case_id)
    school = await reading.school_name(session, summary.school_id)
    if row.kind == DeliveryKind.ACK_NOTICE:
        who = await officers.display_name(session, summary.acknowledged_by)
        text = catalog.t(
            "officer_ack_notice", case=summary.reference, officer=who or catalog.t("officer_someone")
        )
        return Rendered(chat_id, [Html(text)])
    if row.kind == DeliveryKind.ESCALATION_NOTICE:
        return Rendered(chat_id, [Html(await _escalation_notice(session, row, summary))])
    if row.kind == DeliveryKind.STUDENT_REPLY:
        return await _render_addition(session, services, row, chat_id, summary)
    first = await reading.first_message_as_officer(session, services.keys, row.case_id, row.officer_id)
    # A tip's images follow it, each on its own row (a reminder's officer has them already).
    images = await evidence.image_count(session, row.case_id) if row.kind in delivery_media.TIP_KINDS else 0
    prefix = {
        DeliveryKind.ESCALATION: catalog.t("officer_escalated_prefix"),
        DeliveryKind.REMINDER: catalog.t("officer_reminder_prefix"),
    }.get(row.kind, "")
    document = render.tip_document(
        summary, school, first, services.policy.timezone, prefix=prefix, images=images
    )
    return Rendered(chat_id, document, render.case_buttons(summary), render.continued(summary))


async def _preload(session: AsyncSession, case_id: int, officer_id: int) -> object:
    """The case, its school (if any) and the officer, loaded into the session in one statement; the
    row that holds them (None if the case or the officer is not there), for the caller to keep."""
    query = (
        select(Case, School, Officer)
        .outerjoin(School, School.id == Case.school_id)
        .join(Officer, Officer.id == officer_id)
        .where(Case.id == case_id)
    )
    return (await session.execute(query)).first()


async def _render_addition(
    session: AsyncSession, services: Services, row: Delivery, chat_id: int, summary: reading.CaseSummary
) -> Rendered:
    """A student's later message for an officer: their words, or an image (bot.delivery_media)."""
    if row.message_id is None or row.officer_id is None or row.case_id is None:
        raise Undeliverable("a student reply without its message")
    if await delivery_media.is_image_message(session, row.message_id):
        image = await evidence.image_for_officer(session, services.keys, row.message_id, row.officer_id)
        if image is None:
            raise Undeliverable("the image is gone")
        return Rendered(chat_id, media=delivery_media.for_officer(image, row.case_id, summary.reference))
    message = await reading.read_message_as_officer(session, services.keys, row.message_id, row.officer_id)
    heading = catalog.t("officer_student_addition", case=summary.reference)
    document = render.addition_document(heading, message.body)
    return Rendered(chat_id, document, render.reply_only(row.case_id), render.continued(summary))


async def _escalation_notice(session: AsyncSession, row: Delivery, summary: reading.CaseSummary) -> str:
    """To an officer a case went past: to whom (the case's level now) and after how long unacknowledged."""
    case = await session.get(Case, summary.case_id)
    if case is None:
        raise Undeliverable("the case is gone")
    level = routing.LEVEL_NAMES[min(case.escalation_level, routing.SUPERVISORS)]
    wait = render.waited(row.created_at - case.created_at)
    return catalog.t("officer_escalation_notice", case=summary.reference, level=level, wait=wait)


async def _render_alert(services: Services, row: Delivery) -> Rendered:
    """An alert for a supervisor: its kind and the case's reference, from the catalog; no content."""
    if row.officer_id is None or row.alert_id is None:
        raise Undeliverable("an alert without supervisor or alert")
    async with services.db.transaction() as session:
        chat_id = await officers.chat_of(session, row.officer_id)  # verified; see render_delivery
    if chat_id is None:
        raise Undeliverable("the supervisor cannot receive now")  # the others got their copy
    async with services.db.transaction() as session:
        alert = await alerts.get_alert(session, row.alert_id)
        if alert is None:
            raise Undeliverable("the alert is gone")
        with_case, without_case = ALERT_TEXTS[alert.kind]
        if alert.kind == AlertKind.READER_ADDED:
            who = await officers.display_name(session, alert.officer_id) or catalog.t("officer_someone")
            return Rendered(chat_id, [Html(catalog.t(without_case, officer=who))])
        if alert.case_id is None:
            return Rendered(chat_id, [Html(catalog.t(without_case))])
        summary = await reading.case_summary(session, alert.case_id)
    return Rendered(chat_id, [Html(catalog.t(with_case, case=summary.reference))])


async def _render_student_notice(services: Services, row: Delivery) -> Rendered:
    if row.case_id is None:
        raise Undeliverable("a student notice without a case")
    async with services.db.transaction() as session:
        chat_id = await intake.notify_address(session, services.keys, row.case_id)
        case = await session.get(Case, row.case_id)
        label = await intake.case_label(session, services.keys, row.case_id)
    if chat_id is None or case is None:
        raise Undeliverable("the student did not opt in, or the case closed")
    if case.nobody_reached:
        return Rendered(chat_id, [Html(catalog.t("nobody_reached_notification"))])
    if label is None:  # a case from before labels
        return Rendered(chat_id, [Html(catalog.t("new_message_notification"))])
    # Which of the student's cases has news, by its label: no code, nothing about the content.
    return Rendered(chat_id, [Html(catalog.t("new_message_notification_label", label=label))])
