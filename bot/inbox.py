"""The durable inbox: Telegram updates sealed in the database before Telegram is told they arrived.

Rows are written by the poller (before the next getUpdates confirms them) or
by the webhook (before it answers 200), claimed by a worker in any instance,
handled, and marked done. Only the earliest unhandled update of a chat can be
claimed, so a chat's updates are handled in order across instances. A claim
is a lease: a worker that died (SIGKILL, power cut) lets its updates go when
the lease runs out, and they are handled again. A done row keeps only its
update id, so that an update delivered twice is handled once; it is purged
after a day. Functions here take a session and never commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from casework import coarse
from casework.vault import crypto
from casework.vault.keys import KeyRing
from storage import dialect
from storage.models import IntakeUpdate

_CHAT_DOMAIN = b"sro-connect intake chat v1|"
# A handled update's id is kept this long, to skip Telegram's redelivery of a webhook whose 200 was lost.
KEEP_DONE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update as Telegram sent it, and the chat it belongs to (None: no chat)."""

    update_id: int
    chat_id: int | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed update: what Telegram sent, and a random seed chosen when it was stored.

    The seed makes handling the update again give the same draft tokens and case code
    (bot.state), so a case opened before a crash is found again, not opened twice.
    """

    update_id: int
    data: dict[str, Any]
    seed: bytes


def _aad(update_id: int) -> bytes:
    return f"sro-connect intake v1|{update_id}".encode()


# What identifies a person in an update and that the bot never reads: dropped before sealing, so a
# stored update (a backup, with the master key) holds no name, username, phone number or language.
# Fields python-telegram-bot requires (a user's or contact's first name, a contact's number, a hidden
# forward's sender name) are kept, empty.
_DROPPED = frozenset({"last_name", "username", "usernames", "language_code", "is_premium", "vcard", "bio"})
_EMPTIED = frozenset({"first_name", "phone_number", "sender_user_name"})


def minimised(value: Any) -> Any:
    """The update without who sent it beyond ids: every name, username, phone number and language
    of every user, chat and contact in it (a forward's origin, a replied-to message, ...)."""
    if isinstance(value, Mapping):
        return {
            key: "" if key in _EMPTIED and isinstance(item, str) else minimised(item)
            for key, item in value.items()
            if key not in _DROPPED
        }
    if isinstance(value, list):
        return [minimised(item) for item in value]
    return value


def chat_key(keys: KeyRing, chat_id: int) -> str:
    """A keyed hash of the chat, apart from the drafts' pseudonym (another domain)."""
    return crypto.keyed_hash(keys.pseudonym_key, _CHAT_DOMAIN, str(chat_id).encode()).hex()


async def store(session: AsyncSession, keys: KeyRing, updates: Iterable[Incoming], now: datetime) -> set[int]:
    """Seal and insert updates; one already known (stored, or handled) is left as it is. Returns the
    ids of those that were new."""
    rows = []
    for incoming in updates:
        payload = {"update": minimised(incoming.data), "seed": secrets.token_hex(32)}
        sealed = crypto.seal(
            keys.state_key, json.dumps(payload, ensure_ascii=False).encode(), _aad(incoming.update_id)
        )
        rows.append(
            {
                "update_id": incoming.update_id,
                "chat_key": None if incoming.chat_id is None else chat_key(keys, incoming.chat_id),
                "nonce": sealed.nonce,
                "ciphertext": sealed.ciphertext,
                "done": False,
                "claimed_by": None,
                "claimed_until": None,
                "received_at": coarse.floor(now),
            }
        )
    if not rows:
        return set()
    statement = dialect.insert(session, IntakeUpdate).values(rows)
    statement = statement.on_conflict_do_nothing(index_elements=[IntakeUpdate.update_id])
    return set(await session.scalars(statement.returning(IntakeUpdate.update_id)))


async def claim(
    session: AsyncSession,
    keys: KeyRing,
    worker: str,
    now: datetime,
    *,
    lease: timedelta,
    limit: int,
) -> list[Claimed]:
    """Up to `limit` updates to handle now, each the earliest unhandled one of its chat.

    A chat whose earlier update is still unhandled (claimed elsewhere, or not yet) waits. On
    PostgreSQL rows another instance is claiming are skipped (SKIP LOCKED); SQLite has one writer.
    """
    earlier = aliased(IntakeUpdate)
    waiting = exists().where(
        earlier.chat_key == IntakeUpdate.chat_key,
        earlier.done.is_(False),
        earlier.update_id < IntakeUpdate.update_id,
    )
    query = (
        select(IntakeUpdate)
        .where(
            IntakeUpdate.done.is_(False),
            or_(IntakeUpdate.claimed_until.is_(None), IntakeUpdate.claimed_until < now),
            ~waiting,
        )
        .order_by(IntakeUpdate.update_id)
        .limit(limit)
    )
    if dialect.is_postgresql(session):
        query = query.with_for_update(skip_locked=True, of=IntakeUpdate)
    rows = list(await session.scalars(query))
    if not rows:
        return []
    await session.execute(
        update(IntakeUpdate)
        .where(IntakeUpdate.update_id.in_([row.update_id for row in rows]))
        .values(claimed_by=worker, claimed_until=now + lease)
    )
    claimed = []
    for row in rows:
        # An unhandled row keeps its sealed update.
        assert row.nonce is not None
        assert row.ciphertext is not None
        payload = json.loads(
            crypto.open_sealed(keys.state_key, crypto.Sealed(row.nonce, row.ciphertext), _aad(row.update_id))
        )
        claimed.append(Claimed(row.update_id, payload["update"], bytes.fromhex(payload["seed"])))
    return claimed


async def renew(
    session: AsyncSession, worker: str, update_ids: Iterable[int], now: datetime, *, lease: timedelta
) -> None:
    """Extend this worker's leases on updates it is still handling."""
    ids = list(update_ids)
    if ids:
        await session.execute(
            update(IntakeUpdate)
            .where(
                IntakeUpdate.update_id.in_(ids),
                IntakeUpdate.claimed_by == worker,
                IntakeUpdate.done.is_(False),
            )
            .values(claimed_until=now + lease)
        )


async def finish(session: AsyncSession, update_id: int) -> None:
    """The update was handled: keep its id only (the sealed update and the chat key go)."""
    await session.execute(
        update(IntakeUpdate)
        .where(IntakeUpdate.update_id == update_id)
        .values(done=True, chat_key=None, nonce=None, ciphertext=None, claimed_by=None, claimed_until=None)
    )


async def release(session: AsyncSession, worker: str) -> None:
    """A stopping worker lets go of what it did not handle: claimable at once, by anyone."""
    await session.execute(
        update(IntakeUpdate)
        .where(IntakeUpdate.claimed_by == worker, IntakeUpdate.done.is_(False))
        .values(claimed_by=None, claimed_until=None)
    )


async def unhandled(session: AsyncSession) -> int:
    """How many updates are stored and not handled yet."""
    query = select(func.count()).select_from(IntakeUpdate).where(IntakeUpdate.done.is_(False))
    return int(await session.scalar(query) or 0)


async def purge_done(session: AsyncSession, now: datetime) -> int:
    """Forget the ids of updates handled more than KEEP_DONE ago."""
    old = and_(IntakeUpdate.done.is_(True), IntakeUpdate.received_at < now - KEEP_DONE)
    count = int(await session.scalar(select(func.count()).select_from(IntakeUpdate).where(old)) or 0)
    if count:
        await session.execute(delete(IntakeUpdate).where(old))
    return count
