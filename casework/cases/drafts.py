"""Conversations in progress, kept in the database (not the bot's memory), encrypted, and short-lived.

Keyed by the student's pseudonym (never their chat id), sealed with the
server 'state' key with the pseudonym as associated data, and unreadable
after `ttl` without activity. The exact expiry is inside the sealed payload;
the plain `updated_at` and `expires_at` are rounded to a quarter hour
(casework.coarse), so a database reader cannot link a draft to a case by time.

Beside each student's draft, under a key derived from the pseudonym, a second
sealed row lists the ids of the messages in their chat from the last 48 hours
(Telegram lets a bot delete those), for /forget to delete them. It is never a
plain chat → message table: without the server keys it is one more
pseudonymous row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, false, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from casework import coarse
from casework.vault import crypto
from casework.vault.keys import KeyRing
from storage import dialect
from storage.models import Draft

DEFAULT_TTL = timedelta(minutes=30)
# Telegram lets a bot delete a message in a private chat for 48 hours after it was sent.
DELETABLE_FOR = timedelta(hours=48)
MAX_REMEMBERED = 1000  # message ids kept per chat (the newest), so the row stays small
_PAYLOAD_VERSION = 2  # {"v": 2, "expires": unix seconds, "state": {...}}; v1 was the bare state


def _aad(pseudonym: str) -> bytes:
    return f"sro-connect draft v1|{pseudonym}".encode()


def messages_key(keys: KeyRing, pseudonym: str) -> str:
    """The row key of a chat's message list: derived from the pseudonym, not equal to it."""
    return crypto.keyed_hash(keys.pseudonym_key, b"sro-connect chat messages v1|", pseudonym.encode()).hex()


async def exists(session: AsyncSession, pseudonym: str) -> bool:
    """Whether any draft (expired or not) is stored: lets the bot say "that conversation expired"."""
    return await session.scalar(select(Draft.pseudonym).where(Draft.pseudonym == pseudonym)) is not None


async def load_state(
    session: AsyncSession, keys: KeyRing, pseudonym: str, now: datetime
) -> dict[str, Any] | None:
    """The saved state, or None if there is none or it expired (an expired one is deleted)."""
    draft = await session.get(Draft, pseudonym)
    if draft is None:
        return None
    if draft.expires_at <= now:
        await session.delete(draft)
        return None
    raw = _opened(keys, pseudonym, draft.nonce, draft.ciphertext, now)
    if raw is None:
        await session.delete(draft)
    return raw


def _opened(
    keys: KeyRing, pseudonym: str, nonce: bytes, ciphertext: bytes, now: datetime
) -> dict[str, Any] | None:
    """A row's state, unsealed (None: its own expiry has passed)."""
    raw = json.loads(crypto.open_sealed(keys.state_key, crypto.Sealed(nonce, ciphertext), _aad(pseudonym)))
    if isinstance(raw, dict) and raw.get("v") == _PAYLOAD_VERSION:
        if float(raw.get("expires", 0)) <= now.timestamp():
            return None
        raw = raw.get("state")
    if not isinstance(raw, dict):
        raise crypto.DecryptionError("a draft decrypted to something that is not a state")
    return raw


async def live_states(
    session: AsyncSession, keys: KeyRing, now: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """Every unexpired row's payload, unsealed, read in one query (a job's read pass): conversation
    states, and chats' message lists under their own keys (no state step; callers look at steps).

    Rows that do not open are left out; nothing is deleted here (the purge job does that), so the
    pass holds the database as briefly as it can.
    """
    rows = await session.execute(
        select(Draft.pseudonym, Draft.nonce, Draft.ciphertext).where(Draft.expires_at > now)
    )
    found = []
    for pseudonym, nonce, ciphertext in rows.all():
        try:
            raw = json.loads(
                crypto.open_sealed(keys.state_key, crypto.Sealed(nonce, ciphertext), _aad(pseudonym))
            )
        except (crypto.DecryptionError, ValueError):
            continue
        if isinstance(raw, dict) and raw.get("v") == _PAYLOAD_VERSION:
            if float(raw.get("expires", 0)) <= now.timestamp():
                continue
            raw = raw.get("state")
        if isinstance(raw, dict):
            found.append((pseudonym, raw))
    return found


def sealed_columns(
    keys: KeyRing, payload: Mapping[str, Any], aad: bytes, now: datetime, expires: datetime
) -> dict[str, Any]:
    """A short-lived row's columns: `payload` sealed with the 'state' key, its times to the quarter hour
    (drafts here, officers' reply modes in casework.cases.reply_modes)."""
    sealed = crypto.seal(keys.state_key, json.dumps(payload, ensure_ascii=False).encode(), aad)
    return {
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "updated_at": coarse.floor(now),
        "expires_at": coarse.ceil(expires),
    }


def _state_columns(
    keys: KeyRing, pseudonym: str, state: Mapping[str, Any], now: datetime, ttl: timedelta
) -> dict[str, Any]:
    expires = now + ttl
    payload = {"v": _PAYLOAD_VERSION, "expires": expires.timestamp(), "state": dict(state)}
    return sealed_columns(keys, payload, _aad(pseudonym), now, expires)


async def save_state(
    session: AsyncSession,
    keys: KeyRing,
    pseudonym: str,
    state: Mapping[str, Any],
    now: datetime,
    *,
    ttl: timedelta = DEFAULT_TTL,
) -> None:
    values = _state_columns(keys, pseudonym, state, now, ttl)
    statement = dialect.insert(session, Draft).values(pseudonym=pseudonym, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=[Draft.pseudonym], set_=values))


async def delete_state(session: AsyncSession, pseudonym: str) -> None:
    await session.execute(delete(Draft).where(Draft.pseudonym == pseudonym))


async def reorder(session: AsyncSession) -> None:
    """Rewrite drafts and rate limits in key order, so that row order says nothing of write order.

    PostgreSQL appends each written row version to its heap (and a dump copies
    the heap in that order); CLUSTER rewrites it sorted by the random keys, and
    drops dead versions with it. The tables hold only active students' rows, so
    it takes milliseconds. SQLite keeps them in key order already (WITHOUT ROWID).
    """
    if not dialect.is_postgresql(session):
        return
    await session.execute(text("CLUSTER drafts USING pk_drafts"))
    await session.execute(text("CLUSTER rate_limits USING pk_rate_limits"))


async def purge_expired_drafts(session: AsyncSession, now: datetime) -> int:
    expired = list(await session.scalars(select(Draft.pseudonym).where(Draft.expires_at <= now)))
    if expired:
        await session.execute(delete(Draft).where(Draft.pseudonym.in_(expired)))
    return len(expired)


# --- the chat's message ids, for /forget ------------------------------------------------------------


def _recent(entries: Iterable[Any], now: datetime) -> list[tuple[int, float]]:
    oldest = (now - DELETABLE_FOR).timestamp()
    kept = []
    for entry in entries:
        if isinstance(entry, (list, tuple)) and len(entry) == 2 and float(entry[1]) > oldest:
            kept.append((int(entry[0]), float(entry[1])))
    return kept


async def remember_messages(
    session: AsyncSession, keys: KeyRing, pseudonym: str, message_ids: Iterable[int], now: datetime
) -> None:
    """Add message ids of this chat (sent now) to its sealed list; ids past 48 hours drop out.

    Compare and swap: the list is written only if its row is still as read (its nonce, new at
    every write), else read again. A turn's save (`save_chat`) and a consent reminder (bot.jobs) can
    add to one list at the same moment in two instances on PostgreSQL; neither loses the other's ids.
    """
    new = [(int(i), now.timestamp()) for i in message_ids]
    if not new:
        return
    key = messages_key(keys, pseudonym)
    for _ in range(_LIST_WRITES):
        known, nonce = await _read_list(session, keys, key, now)
        entries = [*known, *new][-MAX_REMEMBERED:]
        values = _state_columns(keys, key, {"messages": entries}, now, DELETABLE_FOR)
        statement = dialect.insert(session, Draft).values(pseudonym=key, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[Draft.pseudonym],
            set_=values,
            where=Draft.nonce == nonce if nonce is not None else false(),  # no row read: insert only
        )
        if await session.scalar(statement.returning(Draft.pseudonym)) is not None:
            return
    raise RuntimeError("a chat's message list kept changing while it was written")


_LIST_WRITES = 20  # attempts: each one fails only if another write landed in between


async def _read_list(
    session: AsyncSession, keys: KeyRing, key: str, now: datetime
) -> tuple[list[tuple[int, float]], bytes | None]:
    """The list's live entries and its row's nonce (None: no row), read afresh (not from the session)."""
    row = (
        await session.execute(
            select(Draft.nonce, Draft.ciphertext, Draft.expires_at).where(Draft.pseudonym == key)
        )
    ).first()
    if row is None:
        return [], None
    nonce, ciphertext, expires_at = row
    if expires_at <= now:
        return [], nonce  # expired: written over
    known = _opened(keys, key, nonce, ciphertext, now)
    return _recent((known or {}).get("messages", []), now), nonce


@dataclass(frozen=True, slots=True)
class ChatRows:
    """A chat's state and its message list, as read together at the start of its update."""

    state: dict[str, Any] | None  # None: none, or it expired
    had_draft: bool  # a state row was there (expired or not)
    messages: tuple[tuple[int, float], ...]  # the remembered (message id, time) pairs, as read
    messages_nonce: bytes | None  # the list's row as read (its nonce is new at every write); None: none


async def load_chat(session: AsyncSession, keys: KeyRing, pseudonym: str, now: datetime) -> ChatRows:
    """The chat's state and message list in one query (expired rows are deleted, as `load_state` does)."""
    key = messages_key(keys, pseudonym)
    # Held here, the rows are in the session's identity map: `load_state` finds them there.
    rows = {
        row.pseudonym: row
        for row in await session.scalars(select(Draft).where(Draft.pseudonym.in_([pseudonym, key])))
    }
    state = await load_state(session, keys, pseudonym, now)
    known = None
    if key in rows:
        try:
            known = await load_state(session, keys, key, now)
        except (crypto.DecryptionError, ValueError):
            known = None  # left as it is: `save_chat` then reads it again, and fails there, as it did
    listed = rows[key] if known is not None else None
    return ChatRows(
        state,
        pseudonym in rows,
        tuple(_recent(known.get("messages", []), now)) if known is not None else (),
        listed.nonce if listed is not None else None,
    )


async def save_chat(
    session: AsyncSession,
    keys: KeyRing,
    pseudonym: str,
    state: Mapping[str, Any] | None,
    message_ids: Iterable[int],
    now: datetime,
    read: ChatRows,
) -> None:
    """Save the state (None: delete it) and add `message_ids` to the list read in `read`, in one
    statement where it can: the list is written only if nobody changed it since it was read (a
    consent reminder sent meanwhile, bot.jobs); if somebody did, it is read again and added to."""
    new = [(int(i), now.timestamp()) for i in message_ids]
    rows: list[dict[str, Any]] = []
    if state is None:
        await delete_state(session, pseudonym)
    else:
        rows.append({"pseudonym": pseudonym, **_state_columns(keys, pseudonym, state, now, DEFAULT_TTL)})
    key = messages_key(keys, pseudonym)
    if new:
        entries = [*_recent(read.messages, now), *new][-MAX_REMEMBERED:]
        rows.append(
            {"pseudonym": key, **_state_columns(keys, key, {"messages": entries}, now, DELETABLE_FOR)}
        )
    if not rows:
        return
    statement = dialect.insert(session, Draft).values(rows)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[Draft.pseudonym],
        set_={name: excluded[name] for name in ("nonce", "ciphertext", "updated_at", "expires_at")},
        # The state always; the list only as it was read (a nonce is never reused: unchanged).
        where=(Draft.pseudonym != key) | (Draft.nonce == read.messages_nonce),
    )
    written = set(await session.scalars(statement.returning(Draft.pseudonym)))
    if new and key not in written:
        await remember_messages(session, keys, pseudonym, message_ids, now)


async def take_messages(session: AsyncSession, keys: KeyRing, pseudonym: str, now: datetime) -> list[int]:
    """The chat's message ids still deletable (under 48 hours old), forgetting the list."""
    key = messages_key(keys, pseudonym)
    known = await load_state(session, keys, key, now)
    await delete_state(session, key)
    return [message_id for message_id, _ in _recent((known or {}).get("messages", []), now)]
