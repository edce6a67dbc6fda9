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


# Who is in an update, kept by allow-list before sealing, so that a stored update (a backup, with the
# master key) names nobody: not the student, nor whoever a forward, a reply, a mention or a service
# message is about. A user keeps its id and is_bot, and first_name empty (python-telegram-bot
# requires it); a chat its id and type; a contact its phone number and first name, empty (both
# required). Everything else in them goes, whatever Telegram adds to them later. They are found by
# the key they sit under (every key python-telegram-bot knows to hold a user or chat, and the old
# forward_from ones) and by their shape, so one under a key added later is found too.
_USER_KEYS = frozenset(
    {
        "from", "forward_from", "via_bot", "sender_user", "user", "new_chat_members", "left_chat_member",
        "sender_business_bot", "guest_bot_caller_user", "winners", "creator", "new_owner", "bot",
        "affiliate_user", "added_users", "completed_by_user", "added_by_user", "traveler", "watcher",
        "sponsor_user",
    }
)  # fmt: skip
_CHAT_KEYS = frozenset(
    {
        "chat", "sender_chat", "forward_from_chat", "chats", "actor_chat", "voter_chat",
        "guest_bot_caller_chat", "affiliate_chat", "personal_chat", "parent_chat", "completed_by_chat",
        "publisher_chat", "added_by_chat",
    }
)  # fmt: skip
_CONTACT_KEYS = frozenset({"contact"})
_CHAT_TYPES = frozenset({"private", "group", "supergroup", "channel", "sender"})
# Outside those objects: free text that names a person or a chat (a channel post's or a forward's
# signature, a member's custom title, ...) goes; what python-telegram-bot requires is kept empty (a
# hidden forward's sender name, a venue's or a shared chat's title). The names of an object of a
# shape not known here (a shared user, say) go the same way.
# Where someone is, and what their files are called, go too: the bot only tells a student it takes
# no locations, so a shared location keeps that it is one, at 0°N 0°E (python-telegram-bot needs
# both numbers), and a venue an empty address; a file keeps its id and size, not its name
# ("IMG_<name>.jpg") nor an audio's performer.
_DROPPED = frozenset(
    {
        "author_signature", "forward_signature", "forward_sender_name", "sender_tag", "custom_title", "tag",
        "last_name", "username", "usernames", "active_usernames", "language_code", "is_premium", "vcard",
        "bio", "file_name", "performer", "horizontal_accuracy", "live_period", "heading",
        "proximity_alert_radius", "foursquare_id", "foursquare_type", "google_place_id", "google_place_type",
    }
)  # fmt: skip
_EMPTIED = frozenset({"first_name", "phone_number", "sender_user_name", "title", "new_chat_title", "address"})
_ZEROED = frozenset({"latitude", "longitude"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_user(value: Mapping[str, Any]) -> bool:
    """A Telegram User by its shape: an integer id and whether it is a bot."""
    return _is_int(value.get("id")) and isinstance(value.get("is_bot"), bool)


def is_chat(value: Mapping[str, Any]) -> bool:
    """A Telegram Chat by its shape: an integer id and a chat type."""
    return _is_int(value.get("id")) and value.get("type") in _CHAT_TYPES


def _user(value: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"id": value["id"]} if _is_int(value.get("id")) else {}
    if isinstance(value.get("is_bot"), bool):
        kept["is_bot"] = value["is_bot"]
    if "first_name" in value:
        kept["first_name"] = ""
    return kept


def _chat(value: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"id": value["id"]} if _is_int(value.get("id")) else {}
    if isinstance(value.get("type"), str):
        kept["type"] = value["type"]  # one word of Telegram's (private, group, ...), never a name
    return kept


def _contact(value: Mapping[str, Any]) -> dict[str, Any]:
    return {key: "" for key in ("phone_number", "first_name") if key in value}


_REDUCED = {"user": _user, "chat": _chat, "contact": _contact}


def _kind_of_key(key: str) -> str | None:
    if key in _USER_KEYS:
        return "user"
    if key in _CHAT_KEYS:
        return "chat"
    if key in _CONTACT_KEYS:
        return "contact"
    return None


def minimised(value: Any, kind: str | None = None) -> Any:
    """The update without who is in it beyond ids: every user, chat and contact anywhere in it (the
    sender, the chat, a forward's origin, a replied-to message, a mention, a new member, ...) reduced
    to what python-telegram-bot needs, and every signature or name outside them dropped; a place's
    coordinates and address, a file's name. What the bot reads stays: text, captions, entities,
    files, dates, message ids, button data, a forward's origin type, that a contact or location was
    sent."""
    if isinstance(value, list):
        return [minimised(item, kind) for item in value]
    if not isinstance(value, Mapping):
        # A string where a user, chat or contact belongs could be a name.
        return "" if kind is not None and isinstance(value, str) else value
    if kind is None:
        kind = "user" if is_user(value) else "chat" if is_chat(value) else None
    if kind is not None:
        return _REDUCED[kind](value)
    return {
        key: _blanked(key, item) if key in _EMPTIED or key in _ZEROED else minimised(item, _kind_of_key(key))
        for key, item in value.items()
        if key not in _DROPPED
    }


def _blanked(key: str, item: Any) -> Any:
    """A name or place python-telegram-bot requires, kept with no content: "" or 0.0."""
    if key in _ZEROED and isinstance(item, (int, float)) and not isinstance(item, bool):
        return 0.0
    if key in _EMPTIED and isinstance(item, str):
        return ""
    return minimised(item, _kind_of_key(key))


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


async def handled(session: AsyncSession, update_id: int) -> bool:
    """Whether the update was handled already (a read: bot.early_safety asks before it speaks)."""
    query = select(IntakeUpdate.done).where(IntakeUpdate.update_id == update_id)
    return bool(await session.scalar(query))


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
