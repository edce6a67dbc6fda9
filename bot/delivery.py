"""The outbox worker: sends what the case store queued, at least once, and never loses a row.

Rows were written in the same transaction as the case or message they
announce. The worker claims a few due rows, decrypts and renders each at
send time (rows hold no text), sends it, and marks it sent; on RetryAfter
or a network error it puts the row back with a delay; on 403 (the officer
blocked the bot) it marks the officer unreachable and the case goes to the
next officers in the chain. A crash between sending and marking leaves the
row 'sending'; it is claimed again after OUTBOX_STALE_SECONDS: that one
send may be repeated, nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import catalog
from bot.officer import render
from bot.pacing import seconds
from bot.services import BotApplication, Services
from casework import case_reading, cases, delivery_failures, officers, outbox
from casework.errors import AccessDenied, CaseworkError
from storage.models import Delivery, DeliveryKind

logger = logging.getLogger(__name__)

BATCH = 16
IDLE_POLL_SECONDS = 1.0
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Rendered:
    chat_id: int
    text: str
    buttons: InlineKeyboardMarkup | None = None


class Undeliverable(Exception):
    """This row can never be sent (its case is gone, or a student notice lost its address); marked failed."""


class RecipientGone(Exception):
    """The officer can no longer receive (unreachable, deactivated, unenrolled): the row is rerouted."""


async def delivery_worker(application: BotApplication) -> None:
    """Run until cancelled: deliver due rows, then wait for new ones (or the next poll)."""
    services = application.bot_data.services
    assert services is not None
    logger.info("delivery.started")
    while True:
        try:
            handled = await deliver_due(application, services)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the worker must outlive a database hiccup
            logger.error("delivery.batch_failed error=%s", type(error).__name__)
            handled = 0
        if handled:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(services.outbox_ready.wait(), timeout=IDLE_POLL_SECONDS)
        services.outbox_ready.clear()


async def deliver_due(application: BotApplication, services: Services) -> int:
    """Claim and send one batch; returns how many rows were handled."""
    async with services.db.transaction() as session:
        stale_after = timedelta(seconds=services.settings.outbox_stale_seconds)
        claimed = await outbox.claim_due(session, services.now(), BATCH, stale_after=stale_after)
    if claimed:
        await asyncio.gather(*(deliver_one(application, services, row) for row in claimed))
    return len(claimed)


async def deliver_one(application: BotApplication, services: Services, row: Delivery) -> None:
    try:
        rendered = await render_delivery(services, row)
    except RecipientGone:
        # E.g. a 403 on this officer's previous tip of the same batch: the chain takes it over.
        async with services.db.transaction() as session:
            await delivery_failures.reroute(session, services.policy, row.id, services.now())
        services.outbox_ready.set()
        logger.warning("delivery.rerouted kind=%s", row.kind)
        return
    except (Undeliverable, AccessDenied, CaseworkError) as error:
        async with services.db.transaction() as session:
            await outbox.mark_failed(session, row.id, type(error).__name__)
        logger.warning("delivery.undeliverable kind=%s error=%s", row.kind, type(error).__name__)
        return
    try:
        message = await application.bot.send_message(
            chat_id=rendered.chat_id,
            text=rendered.text,
            parse_mode=ParseMode.HTML,
            reply_markup=rendered.buttons,
            disable_web_page_preview=True,
            rate_limit_args=0,  # RetryAfter comes back here, to be rescheduled, not slept on
        )
    except RetryAfter as error:
        await _retry(services, row, type(error).__name__, timedelta(seconds=seconds(error.retry_after)))
        return
    except Forbidden as error:
        await _recipient_gone(services, row, type(error).__name__)
        return
    except BadRequest as error:
        # "chat not found" and the like: this recipient cannot be reached either.
        await _recipient_gone(services, row, type(error).__name__)
        return
    except (NetworkError, TelegramError) as error:
        await _retry(services, row, type(error).__name__, backoff(row.attempts))
        return
    async with services.db.transaction() as session:
        await outbox.mark_sent(session, row.id, message.message_id, services.now())
    logger.info("delivery.sent kind=%s attempts=%d", row.kind, row.attempts)


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s, ... up to five minutes."""
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


async def _retry(services: Services, row: Delivery, error_type: str, delay: timedelta) -> None:
    async with services.db.transaction() as session:
        if row.attempts >= MAX_ATTEMPTS:
            await outbox.mark_failed(session, row.id, error_type)
            logger.error("delivery.gave_up kind=%s error=%s", row.kind, error_type)
            return
        await outbox.mark_retry(session, row.id, error_type, services.now() + delay)
    logger.warning("delivery.retry kind=%s error=%s delay=%.0f", row.kind, error_type, delay.total_seconds())


async def _recipient_gone(services: Services, row: Delivery, error_type: str) -> None:
    """403 or an unknown chat: an officer is marked unreachable and their tips go up the chain."""
    async with services.db.transaction() as session:
        if row.officer_id is not None:
            await officers.mark_unreachable(session, row.officer_id, services.now())
            await delivery_failures.reroute(session, services.policy, row.id, services.now())
        else:
            await delivery_failures.student_unreachable(session, row.id, error_type)
    services.outbox_ready.set()
    logger.warning("delivery.recipient_unreachable kind=%s error=%s", row.kind, error_type)


# --- rendering ------------------------------------------------------------------------------


async def render_delivery(services: Services, row: Delivery) -> Rendered:
    """Decrypt and render one row for its recipient."""
    if row.kind == DeliveryKind.NOTIFY_STUDENT:
        return await _render_student_notice(services, row)
    if row.officer_id is None or row.case_id is None:
        raise Undeliverable("an officer delivery without officer or case")
    zone = services.policy.timezone
    async with services.db.transaction() as session:
        chat_id = await officers.chat_of(session, row.officer_id)
        if chat_id is None:
            raise RecipientGone("the officer cannot receive now")
        summary = await case_reading.case_summary(session, row.case_id)
        school = await case_reading.school_name(session, summary.school_id)
        if row.kind == DeliveryKind.ACK_NOTICE:
            who = await officers.display_name(session, summary.acknowledged_by)
            text = catalog.t(
                "officer_ack_notice", case=summary.reference, officer=who or catalog.t("officer_someone")
            )
            return Rendered(chat_id, text)
        if row.kind == DeliveryKind.STUDENT_REPLY:
            if row.message_id is None:
                raise Undeliverable("a student reply without its message")
            message = await case_reading.read_message_as_officer(
                session, services.keys, row.message_id, row.officer_id
            )
            heading = catalog.t("officer_student_addition", case=summary.reference)
            text = "\n\n".join([heading, *render.body_lines(message.body)])
            return Rendered(chat_id, render.clip(text), render.reply_only(row.case_id))
        first = await case_reading.first_message_as_officer(
            session, services.keys, row.case_id, row.officer_id
        )
    prefix = {
        DeliveryKind.ESCALATION: catalog.t("officer_escalated_prefix"),
        DeliveryKind.REMINDER: catalog.t("officer_reminder_prefix"),
    }.get(DeliveryKind(row.kind), "")
    text = render.tip_text(summary, school, first, zone, prefix=prefix)
    return Rendered(chat_id, text, render.case_buttons(summary))


async def _render_student_notice(services: Services, row: Delivery) -> Rendered:
    if row.case_id is None:
        raise Undeliverable("a student notice without a case")
    async with services.db.transaction() as session:
        chat_id = await cases.notify_address(session, services.keys, row.case_id)
    if chat_id is None:
        raise Undeliverable("the student did not opt in, or the case closed")
    return Rendered(chat_id, catalog.t("new_message_notification"))
