"""Timed work, driven by the database so that it survives restarts.

Escalation timers are `cases.next_escalation_at` and delayed deliveries are
outbox rows with a future `next_attempt_at`: nothing is kept in memory, so a
restarted bot simply finds them due. Every few seconds: escalate or remind
unacknowledged cases, hand waiting tips to officers who can now receive
them, and send the one gentle reminder to a student who has not tapped Send
on an urgent message held for their consent (due time and chat sealed in
their state). Every few minutes: purge expired drafts and rate limits. Daily (checked hourly):
purge closed cases past their retention date, audit-logged without content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.constants import ParseMode

from bot import catalog, inbox
from bot.services import BotApplication, Services
from bot.state import ChatState, Step
from casework import rate_limits
from casework.cases import drafts, lifecycle, reply_modes
from casework.delivery import escalation, routing
from storage import dialect
from storage.models import Draft

logger = logging.getLogger(__name__)

TICK_SECONDS = 2.0
REMINDERS_EVERY = 4.0  # every draft is unsealed to look: not on every tick
DRAFTS_EVERY = 300.0
RETENTION_EVERY = 3600.0


async def escalate(services: Services) -> None:
    async with services.db.transaction() as session:
        run = await escalation.process_due(session, services.policy, services.now())
        released = await routing.release_waiting(session, services.policy, services.now())
    if run.escalated or run.reminded or released:
        services.outbox_ready.set()
        logger.info(
            "jobs.escalation escalated=%d reminded=%d released=%d", run.escalated, run.reminded, released
        )


async def _due_reminders(services: Services) -> list[str]:
    """Pseudonyms whose held urgent message is due its reminder (a read pass, no locks)."""
    now = services.now()
    due = []
    async with services.db.transaction() as session:
        states = await drafts.live_states(session, services.keys, now)  # one query, then in memory
    for pseudonym, raw in states:
        if _reminder_due(ChatState.from_dict(raw), now.timestamp()):
            due.append(pseudonym)
    return due


def _reminder_due(state: ChatState, now: float) -> bool:
    return (
        state.step == Step.URGENT_CONSENT
        and state.consent_chat is not None
        and state.consent_remind_at is not None
        and state.consent_remind_at <= now
    )


async def remind_consent(services: Services, bot: Bot) -> None:
    """One reminder per held urgent message: cleared in the state first, so it is never sent twice.

    Each row is locked and read again, so a turn saving at the same moment (the student tapped)
    wins; a crash between the commit and the send loses the reminder, never repeats it.
    """
    for pseudonym in await _due_reminders(services):
        now = services.now()
        async with services.db.transaction() as session:
            await session.get(Draft, pseudonym, with_for_update=True)
            raw = await drafts.load_state(session, services.keys, pseudonym, now)
            state = ChatState.from_dict(raw) if raw is not None else None
            if state is None or not _reminder_due(state, now.timestamp()):
                continue
            chat_id, language = state.consent_chat, state.language
            state.consent_remind_at = state.consent_chat = None
            await drafts.save_state(session, services.keys, pseudonym, state.to_dict(), now)
        assert chat_id is not None
        message = await bot.send_message(
            chat_id, catalog.t("urgent_reminder", language), parse_mode=ParseMode.HTML
        )
        async with services.db.transaction() as session:
            await drafts.remember_messages(session, services.keys, pseudonym, [message.message_id], now)
        logger.info("jobs.consent_reminded")


async def purge_drafts(services: Services) -> None:
    """Drafts, rate limits and officers' reply modes past their (quarter-hour) expiry: they live no longer."""
    async with services.db.transaction() as session:
        count = await drafts.purge_expired_drafts(session, services.now())
        limits = await rate_limits.purge_expired(session, services.now())
        modes = await reply_modes.purge_expired(session, services.now())
        handled = await inbox.purge_done(session, services.now())
    if count or limits or modes or handled:
        logger.info(
            "jobs.drafts_purged count=%d rate_limits=%d reply_modes=%d handled_updates=%d",
            count, limits, modes, handled,
        )  # fmt: skip
    # Its own transaction: if the database refuses it (CLUSTER needs the tables' owner), the purge holds.
    async with services.db.transaction() as session:
        await drafts.reorder(session)  # PostgreSQL: row order must not tell write order


# PostgreSQL advisory lock keys: with several instances, a job runs in one of them at a time.
RETENTION_LOCK = 0x53524F01  # "SRO", 1


async def alone(session: AsyncSession, key: int) -> bool:
    """Take this job's lock for the transaction (PostgreSQL); False if another instance holds it.
    SQLite has one writer: a second instance's transaction waits its turn anyway."""
    if not dialect.is_postgresql(session):
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(key))))


async def purge_cases(services: Services) -> None:
    async with services.db.transaction() as session:
        if not await alone(session, RETENTION_LOCK):
            logger.info("jobs.retention_elsewhere")
            return
        count = await lifecycle.purge_expired(session, services.now())
    logger.info("jobs.retention_purge count=%d", count)


async def housekeeping(application: BotApplication) -> None:
    """Run until stopping; each job on its own period; a failing job never stops the others."""
    services = application.bot_data.services
    assert services is not None

    async def consent_reminders(services: Services) -> None:
        await remind_consent(services, application.bot)

    schedule: list[tuple[float, Callable[[Services], Awaitable[None]]]] = [
        (TICK_SECONDS, escalate),
        (REMINDERS_EVERY, consent_reminders),
        (DRAFTS_EVERY, purge_drafts),
        (RETENTION_EVERY, purge_cases),
    ]
    last_run = dict.fromkeys(range(len(schedule)), 0.0)
    while not services.stopping.is_set():
        now = time.monotonic()
        for index, (period, job) in enumerate(schedule):
            if now - last_run[index] >= period:
                last_run[index] = now
                try:
                    await job(services)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    logger.error("jobs.failed job=%s error=%s", job.__name__, type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(services.stopping.wait(), timeout=TICK_SECONDS)
