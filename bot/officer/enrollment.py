"""`/enroll CODE`: anyone may try; a valid one-time code links this chat to an officer."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from telegram import Update

from bot.services import BotContext
from bot.turn import Replies
from casework import officers, rate_limits
from casework.errors import (
    BadCheckCharacter,
    CaseworkError,
    ChatAlreadyEnrolled,
    EnrollmentCodeExpired,
    EnrollmentCodeRejected,
    InactiveOfficer,
    MalformedCode,
)

logger = logging.getLogger(__name__)

ENROLL_MISSES = 5
ENROLL_WINDOW = timedelta(minutes=15)
# Why a code was refused, as the catalog says it (first match wins: a typo is also not a valid code).
REFUSALS: dict[type[CaseworkError], str] = {
    BadCheckCharacter: "enroll_bad_check",
    MalformedCode: "enroll_malformed",
    EnrollmentCodeExpired: "enroll_expired",
    EnrollmentCodeRejected: "enroll_rejected",
    ChatAlreadyEnrolled: "enroll_chat_taken",
    InactiveOfficer: "enroll_inactive",
}


async def enroll(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    reply = Replies(update, context, chat.id)
    services = context.services
    code = " ".join(context.args or []).strip()
    if not code:
        await reply.say("enroll_usage")
        return
    pseudonym = services.keys.pseudonym(chat.id)
    async with services.db.transaction() as session:
        until = await rate_limits.blocked_until(
            session, services.keys, pseudonym, "enroll-miss", services.now()
        )
    if until is not None:
        wait = max(1, math.ceil((until - services.now()).total_seconds()))
        await reply.say("enroll_slow_down", seconds=wait)
        return
    try:
        async with services.db.transaction() as session:
            officer = await officers.enroll(
                session, services.keys, services.policy, code, chat.id, services.now()
            )
    except tuple(REFUSALS) as refused:
        failure = next(key for kind, key in REFUSALS.items() if isinstance(refused, kind))
        async with services.db.transaction() as session:
            await rate_limits.hit(
                session,
                services.keys,
                pseudonym,
                "enroll-miss",
                limit=ENROLL_MISSES,
                window=ENROLL_WINDOW,
                now=services.now(),
            )
        logger.info("officer.enroll_refused reason=%s", failure)
        await reply.say(failure)
        return
    services.outbox_ready.set()  # waiting tips were handed to this officer
    logger.info("officer.enrolled")
    await reply.say("enroll_done", name=officer.display_name)
