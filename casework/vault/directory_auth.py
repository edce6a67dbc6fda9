"""MACs over every directory field that routes or grants access, and over every stored message.

Someone who can write to the database but holds no master key could
otherwise add a supervisor with their own key pair (and be sealed every new
case), swap a real officer's chat id for theirs (and receive the tips), or
insert a reply sealed with public keys only (and speak for "your school
officer"). Each such row carries `mac` = key version (2 bytes) || HMAC-SHA256
under the 'directory' server key (sealed with the master key), over a
canonical encoding of its fields, bound to the table by a domain label.

Verification happens at every lookup (routing, sealing, the officer gate,
reading) and before every send (`officers.chat_of`). A row that fails
receives nothing, is left out, and raises one alert (DIRECTORY_FORGED for
directory rows, TAMPERED_MESSAGE for messages); it is never "repaired".

Limits, stated in docs/storage.md and docs/threat-model.md:
- First use: the migration cannot compute MACs (alembic never holds the
  master key), so rows that exist when this code first starts with the key
  are authenticated then, once (`adopt_existing`, run when the 'directory'
  key is created). A row planted before that first start is adopted too.
- Rollback: a writer holding an older copy of the database (or of one row)
  can put it back whole, MAC included; nothing inside the database can tell
  an old valid state from the current one. A rotation changes the MAC key,
  so rows saved before it no longer verify afterwards.
- `unreachable_at` and `enrolled_at` are not covered: they only take an
  officer out of routing (a writer can always delete rows: denial of
  service by a database writer is out of scope), never add one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from casework.errors import MasterKeyError
from casework.vault.keys import KeyRing, bound
from storage.models import Alert, AlertKind, Assignment, CaseMessage, CaseRecipient, Officer

log = logging.getLogger(__name__)

MAC_SIZE = 34
_VERSION_BYTES = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALERTED = "sro-connect alerted"

OFFICER, ASSIGNMENT, RECIPIENT, MESSAGE = "officer", "assignment", "case-recipient", "message"
Row: TypeAlias = Officer | Assignment | CaseRecipient | CaseMessage


def _micros(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // timedelta(microseconds=1)


def _fields(row: Row) -> tuple[str, list[object]]:
    if isinstance(row, Officer):
        return OFFICER, [
            row.id,
            row.display_name,
            str(row.role),
            bool(row.active),
            row.telegram_chat_id,
            bytes(row.public_key).hex(),
        ]
    if isinstance(row, Assignment):
        return ASSIGNMENT, [
            row.id,
            row.officer_id,
            row.school_id,
            str(row.kind),
            _micros(row.starts_at),
            _micros(row.ends_at),
        ]
    if isinstance(row, CaseRecipient):
        return RECIPIENT, [row.case_id, row.officer_id, _micros(row.granted_at), str(row.granted_by)]
    digest = hashlib.sha256(bytes(row.nonce) + bytes(row.ciphertext)).hexdigest()
    return MESSAGE, [
        row.case_id,
        row.seq,
        str(row.direction),
        row.author_officer_id,
        _micros(row.created_at),
        digest,
    ]


def compute_mac(key: bytes, version: int, row: Row) -> bytes:
    domain, fields = _fields(row)
    data = json.dumps([f"sro-connect {domain} mac", version, fields], separators=(",", ":"))
    prefix = version.to_bytes(_VERSION_BYTES, "big")
    return prefix + hmac.new(key, prefix + data.encode("utf-8"), hashlib.sha256).digest()


def sign(session: AsyncSession, row: Row) -> None:
    """Authenticate a row the application itself wrote or changed (its id must be assigned)."""
    sign_with(bound(session), row)


def sign_with(ring: KeyRing, row: Row) -> None:
    row.mac = compute_mac(ring.directory_key, ring.version, row)


async def verify(session: AsyncSession, row: Row, now: datetime) -> bool:
    """True if the row's MAC holds under the current key (or, for messages, the previous one).

    A MAC of a newer version means another process rotated the keys: the
    ring reloads and verifies again rather than calling the row forged.
    """
    mac = row.mac
    if mac is None or len(mac) != MAC_SIZE:
        return False
    ring = bound(session)
    version = int.from_bytes(mac[:_VERSION_BYTES], "big")
    if version > ring.version:
        await ring.reload(session, now)
    if version == ring.version:
        key = ring.directory_key
    elif (
        # Officers and assignments are re-authenticated at once by a rotation; messages and shares,
        # the big tables, in batches: until the rotation finishes they verify under the previous key.
        isinstance(row, CaseMessage | CaseRecipient)
        and version == ring.version - 1
        and ring.current.previous_directory_key is not None
    ):
        key = ring.current.previous_directory_key
    else:
        return False
    return hmac.compare_digest(bytes(mac), compute_mac(key, version, row))


async def officer_ok(session: AsyncSession, officer: Officer, now: datetime | None = None) -> bool:
    """Verify an officer row; a forged one is reported once and treated as absent."""
    now = now or datetime.now(UTC)
    return await verify(session, officer, now) or await _forged(
        session, AlertKind.DIRECTORY_FORGED, now, officer_id=officer.id
    )


async def verified_officers(
    session: AsyncSession, officers: Sequence[Officer], now: datetime | None = None
) -> list[Officer]:
    return [officer for officer in officers if await officer_ok(session, officer, now)]


async def assignment_ok(session: AsyncSession, assignment: Assignment, now: datetime) -> bool:
    return await verify(session, assignment, now) or await _forged(
        session, AlertKind.DIRECTORY_FORGED, now, officer_id=assignment.officer_id
    )


async def recipient_ok(session: AsyncSession, recipient: CaseRecipient, now: datetime) -> bool:
    return await verify(session, recipient, now) or await _forged(
        session, AlertKind.DIRECTORY_FORGED, now, officer_id=recipient.officer_id
    )


async def message_ok(session: AsyncSession, message: CaseMessage, now: datetime | None = None) -> bool:
    """Verify a stored message; one that fails is never shown to anyone, and is alerted once."""
    now = now or datetime.now(UTC)
    return await verify(session, message, now) or await _forged(
        session, AlertKind.TAMPERED_MESSAGE, now, case_id=message.case_id
    )


async def _forged(
    session: AsyncSession,
    kind: AlertKind,
    now: datetime,
    *,
    officer_id: int | None = None,
    case_id: int | None = None,
) -> Literal[False]:
    """Report a row that failed `verify` (once); False, so that its caller treats it as absent."""
    from casework.delivery import alerts  # here: alerts route, routing verifies through here

    marker = (str(kind), officer_id, case_id)
    alerted: set[tuple[str, int | None, int | None]] = session.info.setdefault(_ALERTED, set())
    if marker in alerted:
        return False
    alerted.add(marker)  # before raising: the alert's own routing may meet the same row
    log.error("directory.forged kind=%s", kind)
    if await _already_alerted(session, kind, officer_id, case_id):
        return False
    if officer_id is not None and await session.get(Officer, officer_id) is None:
        officer_id = None  # a forged reference to no officer at all: the alert cannot point at it
    await alerts.raise_alert(session, kind, now, officer_id=officer_id, case_id=case_id)
    return False


async def _already_alerted(
    session: AsyncSession, kind: AlertKind, officer_id: int | None, case_id: int | None
) -> bool:
    query = select(Alert.id).where(Alert.kind == kind).limit(1)
    if officer_id is not None:
        query = query.where(Alert.officer_id == officer_id)
    if case_id is not None:
        query = query.where(Alert.case_id == case_id)
    return await session.scalar(query) is not None


async def _any_mac(session: AsyncSession) -> bool:
    found = [
        await session.scalar(select(Officer.id).where(Officer.mac.is_not(None)).limit(1)),
        await session.scalar(select(Assignment.id).where(Assignment.mac.is_not(None)).limit(1)),
        await session.scalar(select(CaseRecipient.case_id).where(CaseRecipient.mac.is_not(None)).limit(1)),
        await session.scalar(select(CaseMessage.id).where(CaseMessage.mac.is_not(None)).limit(1)),
    ]
    return any(value is not None for value in found)


async def adopt_existing(session: AsyncSession, ring: KeyRing, now: datetime) -> int:
    """First use: authenticate every row that has no MAC yet; returns how many. Run once, audited.

    Called by `KeyRing.load` when it creates the 'directory' key, i.e. on the
    first start holding the master key after migration 0004. Whatever the
    tables hold at that moment is trusted: see the module docstring. If any
    row already carries a MAC, the key was deleted, not never made: refused.
    """
    if await _any_mac(session):
        # The 'directory' key is gone while rows carry MACs made with it: someone deleted it, hoping
        # the next start would adopt rows they planted. Refuse to start rather than adopt.
        raise MasterKeyError(
            "the directory key is missing but officer records are authenticated: the database was "
            "tampered with; restore it from a backup"
        )
    rows: list[Row] = [
        *await session.scalars(select(Officer).where(Officer.mac.is_(None))),
        *await session.scalars(select(Assignment).where(Assignment.mac.is_(None))),
        *await session.scalars(select(CaseRecipient).where(CaseRecipient.mac.is_(None))),
        *await session.scalars(select(CaseMessage).where(CaseMessage.mac.is_(None))),
    ]
    for row in rows:
        sign_with(ring, row)
    adopted = len(rows)
    if adopted:
        await session.flush()
        await audit.record_event(
            session,
            actor="system",
            action="directory.adopted",
            now=now,
            detail=f"{adopted} rows authenticated on first use",
        )
    return adopted
