"""An officer's reply mode: what their next text is for (a reply, a last message, a held message).

One sealed row per officer, apart from the students' drafts. The mode names
a case and may hold the officer's words to a student, so the whole of it is
sealed with the server 'state' key, the officer's id as associated data (a
row moved to another officer does not open). Like a draft it is short-lived:
its exact expiry is sealed, and the plain times are quarter hours. A row that
no longer opens (the state key was rotated) counts as no mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases.drafts import DEFAULT_TTL, sealed_columns
from casework.vault import crypto
from casework.vault.keys import KeyRing
from storage import dialect
from storage.models import OfficerReplyMode, Outcome

TTL = DEFAULT_TTL  # like a draft: 30 minutes after the officer's last tap or text
_PAYLOAD_VERSION = 1  # {"v": 1, "expires": unix seconds, "mode": {"kind": ..., ...}}


@dataclass(frozen=True)
class Replying:
    """After Reply: the officer's next text answers the case."""

    case_id: int


@dataclass(frozen=True)
class Closing:
    """After an outcome was chosen: the next text is the student's last message, then the case closes."""

    case_id: int
    outcome: Outcome


@dataclass(frozen=True)
class Holding:
    """A message to a closed case, kept so that reopening it sends the message without retyping."""

    case_id: int
    text: str


ReplyMode = Replying | Closing | Holding


def _aad(officer_id: int) -> bytes:
    return f"sro-connect officer reply mode v1|{officer_id}".encode()


def _to_dict(mode: ReplyMode) -> dict[str, Any]:
    if isinstance(mode, Replying):
        return {"kind": "replying", "case": mode.case_id}
    if isinstance(mode, Closing):
        return {"kind": "closing", "case": mode.case_id, "outcome": mode.outcome.value}
    return {"kind": "holding", "case": mode.case_id, "text": mode.text}


def _from_dict(raw: Any) -> ReplyMode:
    if not isinstance(raw, dict) or not isinstance(raw.get("case"), int):
        raise crypto.DecryptionError("an officer's reply mode opened to something that is not a mode")
    kind, case_id = raw.get("kind"), int(raw["case"])
    if kind == "replying":
        return Replying(case_id)
    if kind == "closing":
        return Closing(case_id, Outcome(str(raw.get("outcome"))))
    if kind == "holding" and isinstance(raw.get("text"), str):
        return Holding(case_id, raw["text"])
    raise crypto.DecryptionError("an officer's reply mode has an unknown kind")


async def load(session: AsyncSession, keys: KeyRing, officer_id: int, now: datetime) -> ReplyMode | None:
    """The officer's mode, or None if there is none, it expired or it no longer opens (then deleted)."""
    row = await session.get(OfficerReplyMode, officer_id)
    if row is None:
        return None
    try:
        raw = json.loads(
            crypto.open_sealed(keys.state_key, crypto.Sealed(row.nonce, row.ciphertext), _aad(officer_id))
        )
        if not isinstance(raw, dict) or raw.get("v") != _PAYLOAD_VERSION:
            raise crypto.DecryptionError("an officer's reply mode of an unknown version")
        expired = row.expires_at <= now or float(raw.get("expires", 0)) <= now.timestamp()
        mode = None if expired else _from_dict(raw.get("mode"))
    except (crypto.DecryptionError, ValueError):
        # Sealed under a rotated key, or altered: the officer taps Reply again, nothing is guessed.
        mode = None
    if mode is None:
        await session.delete(row)
    return mode


async def save(session: AsyncSession, keys: KeyRing, officer_id: int, mode: ReplyMode, now: datetime) -> None:
    """Set the officer's mode (replacing any other) for the next `TTL`."""
    expires = now + TTL
    payload = {"v": _PAYLOAD_VERSION, "expires": expires.timestamp(), "mode": _to_dict(mode)}
    values = sealed_columns(keys, payload, _aad(officer_id), now, expires)
    statement = dialect.insert(session, OfficerReplyMode).values(officer_id=officer_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[OfficerReplyMode.officer_id], set_=values)
    )


async def clear(session: AsyncSession, officer_id: int) -> None:
    """The officer's next text is for nothing in particular again."""
    await session.execute(delete(OfficerReplyMode).where(OfficerReplyMode.officer_id == officer_id))


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete the modes past their (quarter-hour) expiry; how many."""
    expired = list(
        await session.scalars(select(OfficerReplyMode.officer_id).where(OfficerReplyMode.expires_at <= now))
    )
    if expired:
        await session.execute(delete(OfficerReplyMode).where(OfficerReplyMode.officer_id.in_(expired)))
    return len(expired)
