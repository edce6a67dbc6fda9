"""`sro keys rotate`: a new key generation, so that a leaked master key stops opening what comes after.

Re-wrapping under a new master key alone is not enough: whoever holds the
old master key and a backup can unseal the old officer private keys and
server keys, whose values would still open every case created afterwards.
A rotation therefore re-keys:

- a new master key;
- new server keys for 'pseudonym', 'state', 'address', 'directory' and
  'enrollment'. 'case_code' keeps its value: the server never holds a case
  code, so the lookup hash of every code already issued could not be
  recomputed, and every student would lose their case;
- a new X25519 key pair per officer; every officer envelope is re-wrapped
  for the new public key (content keys unchanged: a backup already holds the
  old messages, new messages get fresh content keys anyway);
- every notification address (and case label) re-sealed, every directory and message MAC
  re-computed under the new directory key;
- drafts and rate limits dropped (their pseudonyms change), unused
  enrollment codes invalidated.

Steps, each its own transaction so the bot keeps working during a long run:
`begin` (new generation, officers, addresses, small tables; the old private
keys kept sealed under the NEW master key as `previous_sealed_private_key`),
`rewrap.reseal_batch` (re-wraps messages in id order up to the boundary, resumable),
and `finish` (checks every message was done, then deletes the previous keys).
With a key file, the new key is written to `<file>.next` before `begin`
commits and moved into place right after; no `<file>.previous` is kept (the
operator archives the old key offline before rotating, if at all). A crash
between that commit and the move is finished by `open_keyring` on the next
start. Other processes meet rows of the newer version and reload
(`KeyRing.reload`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from casework.cases.intake import address_aad, label_aad
from casework.errors import MasterKeyError
from casework.vault import crypto, directory_auth
from casework.vault.keys import (
    PREVIOUS_DIRECTORY,
    PREVIOUS_KEY_PURPOSE,
    SERVER_KEY_NAMES,
    KeyGeneration,
    KeyRing,
    server_key_identity,
)
from casework.vault.master_key import KeySource, MasterKey, read_key_file, write_key_file
from storage.models import (
    Assignment,
    Case,
    CaseMessage,
    Draft,
    EnrollmentCode,
    KeyRotation,
    Officer,
    OfficerReplyMode,
    RateLimit,
    ServerKey,
)

log = logging.getLogger(__name__)

KEPT = ("case_code",)  # changing it would orphan every case code already issued


@dataclass(frozen=True, slots=True)
class RotationSummary:
    version: int
    server_keys: int
    officer_keys: int
    addresses: int
    drafts_dropped: int
    rate_limits_dropped: int
    enrollment_codes_dropped: int


class RotationInProgress(MasterKeyError):
    """A rotation was begun and not finished: resume it (`sro keys rotate` resumes) before another."""


def pending_file(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def previous_file(path: Path) -> Path:
    """Where older versions kept the old key; removed by `finish_key_file`, never written."""
    return path.with_name(path.name + ".previous")


async def unfinished(session: AsyncSession) -> KeyRotation | None:
    return await session.scalar(select(KeyRotation).where(KeyRotation.finished_at.is_(None)))


async def begin(
    session: AsyncSession, keys: KeyRing, new: MasterKey, now: datetime
) -> tuple[RotationSummary, KeyGeneration]:
    """Step 1: the next generation, sealed under `new`. Install it with `keys.replace` after commit."""
    if await unfinished(session) is not None:
        raise RotationInProgress("a key rotation is still in progress: resume it first")
    old = keys.current
    version = old.version + 1
    values = {
        name: getattr(old, f"{name}_key") if name in KEPT else crypto.random_key()
        for name in SERVER_KEY_NAMES
    }
    rows = {row.name: row for row in await session.scalars(select(ServerKey).with_for_update())}
    for name in SERVER_KEY_NAMES:
        row = rows[name]
        row.sealed = new.seal("server-key", server_key_identity(name, version), values[name])
        row.version, row.created_at = version, now
    previous = ServerKey(
        name=PREVIOUS_DIRECTORY,
        sealed=new.seal("server-key", server_key_identity("directory", old.version), old.directory_key),
        created_at=now,
        version=old.version,
    )
    if PREVIOUS_DIRECTORY in rows:
        await session.delete(rows[PREVIOUS_DIRECTORY])
        await session.flush()
    session.add(previous)
    generation = KeyGeneration.from_keys(version, new, values, previous_directory_key=old.directory_key)
    officer_keys = await _rekey_officers(session, old, generation, now)
    await _resign(session, old, generation, now)
    addresses = await _reseal_addresses(session, old, generation)
    dropped = [
        (await session.execute(delete(model))).rowcount  # type: ignore[attr-defined]
        for model in (Draft, RateLimit)
    ]
    # Officers' reply modes are sealed with the state key too: an officer taps Reply again.
    await session.execute(delete(OfficerReplyMode))
    codes = (await session.execute(delete(EnrollmentCode).where(EnrollmentCode.used_at.is_(None)))).rowcount  # type: ignore[attr-defined]
    boundary = await session.scalar(select(func.max(CaseMessage.id))) or 0
    session.add(KeyRotation(version=version, started_at=now, boundary_message_id=boundary, done_through=0))
    summary = RotationSummary(
        version, len(SERVER_KEY_NAMES), officer_keys, addresses, int(dropped[0]), int(dropped[1]), int(codes)
    )
    await audit.record_event(
        session,
        actor="admin",
        action="keys.rotated",
        now=now,
        detail=f"version {version}: {officer_keys} officer key pairs, {len(SERVER_KEY_NAMES) - len(KEPT)} "
        f"server keys replaced ({', '.join(KEPT)} kept); messages re-wrapped in batches",
    )
    return summary, generation


def stamp(generation: KeyGeneration, row: directory_auth.Row) -> None:
    """Authenticate a row under `generation`'s directory key."""
    row.mac = directory_auth.compute_mac(generation.directory_key, generation.version, row)


def _genuine(old: KeyGeneration, row: directory_auth.Row) -> bool:
    """Verified under the old generation: only genuine rows are carried into the new one."""
    mac = row.mac
    return mac is not None and mac == directory_auth.compute_mac(old.directory_key, old.version, row)


async def _rekey_officers(
    session: AsyncSession, old: KeyGeneration, generation: KeyGeneration, now: datetime
) -> int:
    rekeyed = 0
    for officer in await session.scalars(select(Officer).with_for_update().order_by(Officer.id)):
        if not _genuine(old, officer):
            continue  # a forged row stays unverifiable: it is never stamped with the new key
        identity = str(officer.id)
        old_raw = old.master.unseal("officer-private-key", identity, officer.sealed_private_key)
        private = crypto.new_private_key()
        officer.previous_sealed_private_key = generation.master.seal(PREVIOUS_KEY_PURPOSE, identity, old_raw)
        officer.sealed_private_key = generation.master.seal(
            "officer-private-key", identity, crypto.private_bytes(private)
        )
        officer.public_key = crypto.public_bytes(private)
        stamp(generation, officer)
        rekeyed += 1
    return rekeyed


async def _resign(
    session: AsyncSession, old: KeyGeneration, generation: KeyGeneration, now: datetime
) -> None:
    """Assignments, a small table, re-authenticated at once (shares go with their messages' batches)."""
    for row in await session.scalars(select(Assignment)):
        if _genuine(old, row):
            stamp(generation, row)


async def _reseal_addresses(session: AsyncSession, old: KeyGeneration, generation: KeyGeneration) -> int:
    """Notification addresses, and case labels (sealed with the same key); returns addresses re-sealed."""
    count = 0
    for case in await session.scalars(select(Case).where(Case.notify_address_sealed.is_not(None))):
        assert case.notify_address_sealed is not None
        aad = address_aad(case.id)
        raw = crypto.open_blob(old.address_key, case.notify_address_sealed, aad)
        case.notify_address_sealed = crypto.seal_blob(generation.address_key, raw, aad)
        count += 1
    for case in await session.scalars(select(Case).where(Case.label_sealed.is_not(None))):
        assert case.label_sealed is not None
        aad = label_aad(case.id)
        raw = crypto.open_blob(old.address_key, case.label_sealed, aad)
        case.label_sealed = crypto.seal_blob(generation.address_key, raw, aad)
    return count


async def finish(session: AsyncSession, keys: KeyRing, now: datetime) -> int:
    """Step 3: verify every message up to the boundary was done, then forget the previous keys.

    Returns how many messages are left unverifiable (forged rows, which stay
    refused). Raises `RotationInProgress` if batches remain.
    """
    rotation = await session.scalar(
        select(KeyRotation).where(KeyRotation.finished_at.is_(None)).with_for_update()
    )
    if rotation is None:
        return 0
    remaining = await session.scalar(
        select(func.count())
        .select_from(CaseMessage)
        .where(CaseMessage.id > rotation.done_through, CaseMessage.id <= rotation.boundary_message_id)
    )
    if remaining:
        raise RotationInProgress(f"{remaining} messages are not re-wrapped yet")
    generation = keys.current
    current = generation.version.to_bytes(2, "big")
    stale = 0
    for mac in await session.scalars(
        select(CaseMessage.mac).where(CaseMessage.id <= rotation.boundary_message_id)
    ):
        if mac is None or bytes(mac[:2]) != current:
            stale += 1
    for officer in await session.scalars(
        select(Officer).where(Officer.previous_sealed_private_key.is_not(None))
    ):
        officer.previous_sealed_private_key = None
    await session.execute(delete(ServerKey).where(ServerKey.name == PREVIOUS_DIRECTORY))
    rotation.finished_at = now
    await audit.record_event(
        session,
        actor="admin",
        action="keys.rotation_finished",
        now=now,
        detail=f"version {rotation.version}; previous keys deleted; {stale} unverifiable messages refused",
    )
    return stale


def without_previous(generation: KeyGeneration) -> KeyGeneration:
    return dataclasses.replace(generation, previous_directory_key=None)


def stage_key_file(path: Path, new: MasterKey) -> None:
    """The new key on disk (`.next`) before the database depends on it."""
    write_key_file(pending_file(path), new)


def finish_key_file(path: Path) -> None:
    """Move the staged key into place atomically; the old key is not kept (no `.previous`)."""
    os.replace(pending_file(path), path)
    previous_file(path).unlink(missing_ok=True)  # left by older versions of this command


async def open_keyring(session: AsyncSession, master: MasterKey, now: datetime) -> KeyRing:
    """`KeyRing.load`, finishing a file rotation a crash interrupted after its commit."""
    try:
        return await KeyRing.load(session, master, now)
    except MasterKeyError:
        path = master.source.path
        if path is None or not pending_file(path).exists():
            raise
        staged = read_key_file(pending_file(path), KeySource(master.source.kind, path))
        keys = await KeyRing.load(session, staged, now)  # raises again if that one does not fit either
        finish_key_file(path)
        log.warning("keys.rotation_completed_after_interruption")
        return keys
