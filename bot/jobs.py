"""Timed work, driven by the database so that it survives restarts.

Escalation timers are `cases.next_escalation_at` and delayed deliveries are
outbox rows with a future `next_attempt_at`: nothing is kept in memory, so a
restarted bot simply finds them due. Every few seconds: escalate or remind
unacknowledged cases, hand waiting tips to officers who can now receive
them. Every few minutes: purge expired drafts and rate limits. Daily (checked hourly):
purge closed cases past their retention date, audit-logged without content.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.services import BotApplication, Services
from casework import case_lifecycle, drafts, escalation, rate_limits, routing

logger = logging.getLogger(__name__)

TICK_SECONDS = 2.0
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


async def purge_drafts(services: Services) -> None:
    """Drafts and rate limits past their (quarter-hour) expiry: pseudonymous rows live no longer."""
    async with services.db.transaction() as session:
        count = await drafts.purge_expired_drafts(session, services.now())
        limits = await rate_limits.purge_expired(session, services.now())
    if count or limits:
        logger.info("jobs.drafts_purged count=%d rate_limits=%d", count, limits)
    # Its own transaction: if the database refuses it (CLUSTER needs the tables' owner), the purge holds.
    async with services.db.transaction() as session:
        await drafts.reorder(session)  # PostgreSQL: row order must not tell write order


async def purge_cases(services: Services) -> None:
    async with services.db.transaction() as session:
        count = await case_lifecycle.purge_expired(session, services.now())
    logger.info("jobs.retention_purge count=%d", count)


async def housekeeping(application: BotApplication) -> None:
    """Run until cancelled; each job on its own period; a failing job never stops the others."""
    services = application.bot_data.services
    assert services is not None
    schedule: list[tuple[float, Callable[[Services], Awaitable[None]]]] = [
        (TICK_SECONDS, escalate),
        (DRAFTS_EVERY, purge_drafts),
        (RETENTION_EVERY, purge_cases),
    ]
    last_run = dict.fromkeys(range(len(schedule)), 0.0)
    while True:
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
        await asyncio.sleep(TICK_SECONDS)
