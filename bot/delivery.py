"""The outbox worker: sends what the case store queued, at least once, and never loses a row.

Rows were written in the same transaction as the case or message they
announce. The worker claims a few due rows (urgent first), decrypts and
renders each at send time (bot.delivery_render), sends it as one or more
Telegram messages, records every part (a reply to any part maps to the
case), and marks it sent. On RetryAfter or a network error it puts the row
back with a delay.

Telegram's refusals mean two different things, and only one is about the
recipient. "Recipient gone" (403, chat not found, user deactivated) marks
the officer unreachable and the case goes to the next officers in the
chain. Any other refusal is about the message: it is sent again as plain
text (no parse mode, split by UTF-16 limits); if that is refused too, the
row fails and the supervisors are alerted without the content. A broken
message is never rerouted, so nothing a student writes can silence a
school. A stored message that does not decrypt (tampered) fails and is
alerted too, instead of being retried forever.

A crash between sending and marking leaves the row 'sending'; it is
claimed again after OUTBOX_STALE_SECONDS: that one send may be repeated,
nothing is lost.

A case's images go each on its own row, after the tip's text (bot.delivery_media).

The worker's transactions have priority at SQLite's one writer (storage.db): under a burst of
students, a tip already stored is claimed and marked sent before the next students' steps write.
Rendering reads without a writer turn (bot.delivery_render).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import delivery_media, pacing, textparts
from bot.delivery_render import RecipientGone, Rendered, Undeliverable, render_delivery
from bot.pacing import seconds
from bot.services import BotApplication, Services
from bot.state import ChatState, Step
from casework import officers
from casework.cases import intake, lifecycle
from casework.cases.drafts import load_state, save_state
from casework.delivery import failures, outbox
from casework.errors import AccessDenied, CaseworkError
from casework.vault.crypto import DecryptionError
from storage.db import Priority
from storage.models import (
    AlertKind,
    Case,
    CaseStatus,
    Delivery,
    DeliveryKind,
    DeliveryPriority,
    Draft,
    RecipientKind,
)

logger = logging.getLogger(__name__)

BATCH = 16
IDLE_POLL_SECONDS = 1.0
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(minutes=5)
# A student's words may hold a URL: Telegram must never fetch it (its owner would learn when an
# officer opened the tip).
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# What Telegram says when the chat itself is gone, whatever the status (403, or 400 for some).
GONE_PHRASES = (
    "chat not found",
    "user not found",
    "user is deactivated",
    "bot was blocked",
    "bot was kicked",
    "bot can't initiate conversation",
    "bot can't send messages to bots",
    "peer_id_invalid",
    "have no rights to send",
    "not enough rights to send",
    "chat_write_forbidden",
    "group chat was upgraded",
)
_CASE_KINDS = (DeliveryKind.TIP, DeliveryKind.ESCALATION, DeliveryKind.REMINDER)


class Refused(Exception):
    """Telegram refused the message for what it is (not for who receives it)."""

    def __init__(self, error: BadRequest) -> None:
        super().__init__(type(error).__name__)
        self.error = error


def recipient_gone(error: TelegramError) -> bool:
    """403, or a 400 that says the chat is gone: the recipient, not the message, is the problem."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, BadRequest) and any(p in error.message.lower() for p in GONE_PHRASES)


async def delivery_worker(application: BotApplication) -> None:
    """Run until stopping: deliver due rows, then wait for new ones (or the next poll).

    A batch under way when the bot stops is finished, so every send it made is recorded.
    """
    services = application.bot_data.services
    assert services is not None
    logger.info("delivery.started")
    while not services.stopping.is_set():
        try:
            handled = await deliver_due(application, services)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the worker must outlive a database hiccup
            logger.error("delivery.batch_failed error=%s", type(error).__name__)
            handled = 0
        if handled:
            continue
        await _first_of(services.outbox_ready, services.stopping, timeout=IDLE_POLL_SECONDS)
        services.outbox_ready.clear()


async def _first_of(*events: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109 - a poll period
    """Wait until one of `events` is set, or `timeout` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def deliver_due(application: BotApplication, services: Services) -> int:
    """Claim and send one batch; returns how many rows were handled."""
    async with services.db.transaction(Priority.OUTBOX) as session:
        stale_after = timedelta(seconds=services.settings.outbox_stale_seconds)
        claimed = await outbox.claim_due(session, services.now(), BATCH, stale_after=stale_after)
    if claimed:
        # One recipient's rows one after another (urgent first: claim order), so the parts of two
        # long tips never interleave in an officer's chat; different recipients at once.
        queues: dict[tuple[RecipientKind, int | None], list[Delivery]] = {}
        for row in claimed:
            key: tuple[RecipientKind, int | None]
            if row.officer_id is not None:
                key = (RecipientKind.OFFICER, row.officer_id)
            else:
                key = (RecipientKind.STUDENT, row.case_id)
            queues.setdefault(key, []).append(row)
        await asyncio.gather(*(_deliver_in_order(application, services, rows) for rows in queues.values()))
    return len(claimed)


async def _deliver_in_order(application: BotApplication, services: Services, rows: list[Delivery]) -> None:
    for row in rows:
        await deliver_one(application, services, row)
        if row.kind == DeliveryKind.NOTIFY_STUDENT and row.case_id is not None:
            # A closed case kept its address only for this notice (a last message): once the notice
            # is done (sent: above; failed: here), the address goes. A row put back for a retry keeps it.
            async with services.db.transaction(Priority.OUTBOX) as session:
                await lifecycle.forget_closed_address(session, row.case_id)


async def deliver_one(application: BotApplication, services: Services, row: Delivery) -> None:
    """Render and send one row; whatever goes wrong is settled here (reroute, retry, failure, alert)."""
    rendered = await _render(services, row)
    if rendered is None:
        return
    if row.priority >= DeliveryPriority.URGENT:  # urgent tips and alerts first at Telegram's rate
        with pacing.first():
            await _send_rendered(application, services, row, rendered)
    else:
        await _send_rendered(application, services, row, rendered)


async def _render(services: Services, row: Delivery) -> Rendered | None:
    """The row's messages, or None once a row that cannot be rendered is settled."""
    try:
        return await render_delivery(services, row)
    except RecipientGone:
        # E.g. a 403 on this officer's previous tip of the same batch: the chain takes it over.
        async with services.db.transaction(Priority.OUTBOX) as session:
            await failures.reroute(session, services.policy, row.id, services.now())
        services.outbox_ready.set()
        logger.warning("delivery.rerouted kind=%s", row.kind)
    except DecryptionError as error:
        # Tampered (or forged) ciphertext: retrying cannot help; a supervisor must look at it.
        await _failed(services, row, type(error).__name__, AlertKind.TAMPERED_MESSAGE)
    except (Undeliverable, AccessDenied, CaseworkError) as error:
        async with services.db.transaction(Priority.OUTBOX) as session:
            await failures.undelivered(session, row.id, type(error).__name__, services.now())
        services.outbox_ready.set()  # the student's notice and the alert, if nobody was reached
        logger.warning("delivery.undeliverable kind=%s error=%s", row.kind, type(error).__name__)
    return None


async def _send_rendered(
    application: BotApplication, services: Services, row: Delivery, rendered: Rendered
) -> None:
    """Send (as plain text if Telegram refuses the markup), then record it sent; or settle the failure."""
    if row.kind == DeliveryKind.NOTIFY_STUDENT and row.case_id is not None:
        # Before the notice goes: a student who types the moment it arrives is already following.
        await _follow_notified_case(services, rendered.chat_id, row.case_id)
    unrecorded: int | None = None  # a text's last part: recorded with "sent", in one transaction
    try:
        if rendered.media is not None:
            last = await _send_media(application, services, row, rendered)
        else:
            last = unrecorded = await _send_text(application, services, row, rendered)
    except Refused as refused:
        await _failed(services, row, type(refused.error).__name__, AlertKind.RENDERING_FAILED)
        return
    except RetryAfter as error:
        await _retry(services, row, type(error).__name__, timedelta(seconds=seconds(error.retry_after)))
        return
    except (Forbidden, BadRequest) as error:  # only what recipient_gone() let through
        await _recipient_gone(services, row, type(error).__name__)
        return
    except (NetworkError, TelegramError) as error:
        await _retry(services, row, type(error).__name__, backoff(row.attempts))
        return
    async with services.db.transaction(Priority.OUTBOX) as session:
        if unrecorded is not None:
            await outbox.record_part(session, row.id, unrecorded)
        await outbox.mark_sent(session, row.id, last, services.now())
        if row.case_id is not None and row.kind in _CASE_KINDS:
            await failures.reached(session, row.case_id)
        # A tip's images follow it, each its own row: a failed image never holds back the words.
        await delivery_media.queue_tip_images(session, row, services.now())
        if row.case_id is not None and row.kind == DeliveryKind.NOTIFY_STUDENT:
            # In the same transaction as "sent": a closed case's address never outlives its last notice.
            await lifecycle.forget_closed_address(session, row.case_id)
    logger.info("delivery.sent kind=%s attempts=%d", row.kind, row.attempts)


async def _send_text(
    application: BotApplication, services: Services, row: Delivery, rendered: Rendered
) -> int | None:
    """The document as HTML parts; if Telegram refuses one for its content, all again as plain text."""
    try:
        parts = textparts.html_parts(rendered.document, continued=rendered.continued)
        return await _send(application, services, row, rendered, parts)
    except Refused as refused:
        # The content, not the officer: the same words again, as plain text.
        logger.warning("delivery.refused kind=%s error=%s", row.kind, type(refused.error).__name__)
        plain = textparts.plain_parts(rendered.document)
        return await _send(application, services, row, rendered, plain, parse_mode=None)


async def _send_media(
    application: BotApplication, services: Services, row: Delivery, rendered: Rendered
) -> int | None:
    """An image row (bot.delivery_media): uploaded once; one already recorded is not sent again."""
    assert rendered.media is not None
    async with services.db.transaction(Priority.OUTBOX) as session:
        done = await delivery_media.already_sent(session, row)
    if done is not None:
        return done
    try:
        message = await delivery_media.send_media(
            application.bot, rendered.chat_id, rendered.media, outbox_send=True
        )
    except BadRequest as error:
        if recipient_gone(error):
            raise
        raise Refused(error) from None
    async with services.db.transaction(Priority.OUTBOX) as session:
        await outbox.record_part(session, row.id, message.message_id)
    return message.message_id


async def _send(
    application: BotApplication,
    services: Services,
    row: Delivery,
    rendered: Rendered,
    parts: list[str],
    *,
    parse_mode: str | None = ParseMode.HTML,
) -> int | None:
    """Send the parts in order, the buttons on the last; record each part but the last; the last's id.

    The last part is recorded in the transaction that marks the row sent (`_send_rendered`): until
    then the row is still sending, so an officer's reply to it waits (bot.officer.replies).

    `Refused` if Telegram refused one for its content; recipient-gone and transient errors pass through.
    """
    last: int | None = None
    for number, part in enumerate(parts, start=1):
        try:
            message = await application.bot.send_message(
                chat_id=rendered.chat_id,
                text=part,
                parse_mode=parse_mode,
                reply_markup=rendered.buttons if number == len(parts) else None,
                link_preview_options=NO_PREVIEW,
                rate_limit_args=0,  # RetryAfter comes back here, to be rescheduled, not slept on
            )
        except BadRequest as error:
            if recipient_gone(error):
                raise
            raise Refused(error) from None
        last = message.message_id
        if number < len(parts):
            async with services.db.transaction(Priority.OUTBOX) as session:
                await outbox.record_part(session, row.id, message.message_id)
    return last


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s, ... up to five minutes."""
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


async def _retry(services: Services, row: Delivery, error_type: str, delay: timedelta) -> None:
    if row.attempts >= MAX_ATTEMPTS:
        # Never silently: a tip that was its case's last one on its way marks it reached by nobody
        # (the student learns it, the supervisors are alerted); an alert is listed in `sro alerts`.
        async with services.db.transaction(Priority.OUTBOX) as session:
            await failures.undelivered(session, row.id, error_type, services.now(), gave_up=True)
        services.outbox_ready.set()
        logger.error("delivery.gave_up kind=%s error=%s", row.kind, error_type)
        return
    async with services.db.transaction(Priority.OUTBOX) as session:
        await outbox.mark_retry(session, row.id, error_type, services.now() + delay)
    logger.warning("delivery.retry kind=%s error=%s delay=%.0f", row.kind, error_type, delay.total_seconds())


async def _failed(services: Services, row: Delivery, error_type: str, alert: AlertKind) -> None:
    """The message itself cannot be delivered: failed, alerted without content, never rerouted."""
    async with services.db.transaction(Priority.OUTBOX) as session:
        await failures.rendering_failed(session, row.id, error_type, services.now(), alert=alert)
    services.outbox_ready.set()
    logger.error("delivery.failed kind=%s error=%s alert=%s", row.kind, error_type, alert)


async def _recipient_gone(services: Services, row: Delivery, error_type: str) -> None:
    """403 or an unknown chat: an officer is marked unreachable and their tips go up the chain."""
    async with services.db.transaction(Priority.OUTBOX) as session:
        if row.officer_id is not None:
            await officers.mark_unreachable(session, row.officer_id, services.now())
            await failures.reroute(session, services.policy, row.id, services.now())
        else:
            await failures.student_unreachable(session, row.id, error_type)
    services.outbox_ready.set()
    logger.warning("delivery.recipient_unreachable kind=%s error=%s", row.kind, error_type)


async def _follow_notified_case(services: Services, chat_id: int, case_id: int) -> None:
    """After a reply notice, what the student types next is offered to that case (one tap).

    Written into the student's own sealed, pseudonymous state (never beside the chat id), and only
    when they are between conversations: a notice never changes what an answer mid-interview means.
    The row is locked first, so a turn saving at the same moment wins over this (the worst case is a
    follow-up that is not offered), never the other way round.
    """
    pseudonym = services.keys.pseudonym(chat_id)
    now = services.now()
    async with services.db.transaction(Priority.OUTBOX) as session:
        case = await session.get(Case, case_id)
        if case is None or case.status == CaseStatus.CLOSED or case.nobody_reached:
            return
        label = await intake.case_label(session, services.keys, case_id)
        await session.get(Draft, pseudonym, with_for_update=True)
        raw = await load_state(session, services.keys, pseudonym, now)
        state = ChatState.from_dict(raw) if raw is not None else ChatState()
        if state.step != Step.IDLE:
            return
        state.follow(case_id, label, now.timestamp())
        await save_state(session, services.keys, pseudonym, state.to_dict(), now)
    logger.info("delivery.student_follows_case")
