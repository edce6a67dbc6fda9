"""Conversations in progress, kept in the database (not the bot's memory), encrypted, and short-lived.

Keyed by the student's pseudonym (never their chat id), sealed with the
server 'state' key with the pseudonym as associated data, and gone after
`ttl` without activity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import crypto
from casework.keys import KeyRing
from storage import dialect
from storage.models import Draft

DEFAULT_TTL = timedelta(minutes=30)


def _aad(pseudonym: str) -> bytes:
    return f"sro-connect draft v1|{pseudonym}".encode()


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
    raw = crypto.open_sealed(keys.state_key, crypto.Sealed(draft.nonce, draft.ciphertext), _aad(pseudonym))
    state = json.loads(raw)
    if not isinstance(state, dict):
        raise crypto.DecryptionError("a draft decrypted to something that is not a state")
    return state


async def save_state(
    session: AsyncSession,
    keys: KeyRing,
    pseudonym: str,
    state: Mapping[str, Any],
    now: datetime,
    *,
    ttl: timedelta = DEFAULT_TTL,
) -> None:
    sealed = crypto.seal(
        keys.state_key, json.dumps(dict(state), ensure_ascii=False).encode(), _aad(pseudonym)
    )
    values = {
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "updated_at": now,
        "expires_at": now + ttl,
    }
    statement = dialect.insert(session, Draft).values(pseudonym=pseudonym, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=[Draft.pseudonym], set_=values))


async def delete_state(session: AsyncSession, pseudonym: str) -> None:
    await session.execute(delete(Draft).where(Draft.pseudonym == pseudonym))


async def purge_expired_drafts(session: AsyncSession, now: datetime) -> int:
    expired = list(await session.scalars(select(Draft.pseudonym).where(Draft.expires_at <= now)))
    if expired:
        await session.execute(delete(Draft).where(Draft.pseudonym.in_(expired)))
    return len(expired)
