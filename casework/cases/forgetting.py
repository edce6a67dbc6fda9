"""What /forget removes: what the server keeps that is tied to one chat, its rate-limit counts aside.

The chat's draft and its list of message ids, and the sealed notification address and label of
each of its open cases (whose "you have a new message" notices are deleted in Telegram
too, by the message ids the outbox kept). No table says which cases a chat has (that link is never
stored), so the addresses are found by unsealing every open case's address
with the server 'address' key and comparing it with this chat, in batches.

Its rate-limit rows stay until they expire by themselves (casework.rate_limits): they hold counts
under a keyed pseudonym, no content, and deleting them would make /forget a way round every limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import drafts, intake
from casework.vault import crypto
from casework.vault.keys import KeyRing
from storage.models import Case, CaseStatus, Delivery, DeliveryKind, DeliveryStatus

logger = logging.getLogger(__name__)

BATCH = 500  # cases unsealed per query: memory stays flat however many cases are open


@dataclass(frozen=True, slots=True)
class Forgotten:
    message_ids: list[int]  # the chat's messages under 48 hours old, for the caller to delete
    addresses: int  # open cases whose notification address was this chat's


async def forget_chat(
    session: AsyncSession, keys: KeyRing, chat_id: int, now: datetime, *, batch: int = BATCH
) -> Forgotten:
    """Delete the rows tied to `chat_id`, its rate limits aside; returns the message ids to delete."""
    pseudonym = keys.pseudonym(chat_id)
    message_ids = await drafts.take_messages(session, keys, pseudonym, now)
    await drafts.delete_state(session, pseudonym)
    cases_of_chat = await _forget_addresses(session, keys, chat_id, batch)
    notices = await _notices_sent(session, cases_of_chat, now)
    return Forgotten(sorted({*message_ids, *notices}), len(cases_of_chat))


async def _forget_addresses(session: AsyncSession, keys: KeyRing, chat_id: int, batch: int) -> list[int]:
    """Unseal each open case's address; forget those that are this chat's. Returns their case ids."""
    forgotten: list[int] = []
    after = 0
    while True:
        # Whole rows, so that `intake.notify_address` finds each in the session without a query.
        rows = list(
            await session.scalars(
                select(Case)
                .where(
                    Case.id > after,
                    Case.status != CaseStatus.CLOSED,  # closing already deleted the address
                    Case.notify_address_sealed.is_not(None),
                )
                .order_by(Case.id)
                .limit(batch)
            )
        )
        if not rows:
            return forgotten
        for case_id in [row.id for row in rows]:
            try:
                address = await intake.notify_address(session, keys, case_id)
            except crypto.DecryptionError as error:  # a tampered address reaches nobody anyway
                logger.error("forget.address_unreadable error=%s", type(error).__name__)
                continue
            if address == chat_id:
                await intake.set_notify_address(session, keys, case_id, None)
                await intake.forget_label(session, case_id)  # the label goes with the address
                forgotten.append(case_id)
        after = rows[-1].id


async def _notices_sent(session: AsyncSession, case_ids: list[int], now: datetime) -> list[int]:
    """The "you have a new message" notices these cases sent the chat, still deletable in Telegram."""
    if not case_ids:
        return []
    rows = await session.scalars(
        select(Delivery.telegram_message_id).where(
            Delivery.case_id.in_(case_ids),
            Delivery.kind == DeliveryKind.NOTIFY_STUDENT,
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at > now - drafts.DELETABLE_FOR,
            Delivery.telegram_message_id.is_not(None),
        )
    )
    return [int(i) for i in rows if i is not None]
