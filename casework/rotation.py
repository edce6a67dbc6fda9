"""`sro keys rotate`: a new master key, with every sealed value re-sealed under it, losing nothing.

Only the seals change: the server keys and the officers' key pairs keep
their values, so hashes, envelopes and ciphertexts all stay valid. The
re-seal is one transaction. With a key file, the new key is written to
`<file>.next` BEFORE that transaction commits and moved into place after,
keeping the old one as `<file>.previous`; a crash in between is finished
by `open_keyring` on the next start, so the database and the key file can
never be left disagreeing with no way back.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from casework.errors import MasterKeyError
from casework.keys import KeyRing, KeySource, MasterKey, read_key_file, write_key_file
from storage.models import Officer, ServerKey

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RotationSummary:
    server_keys: int
    officer_keys: int


def pending_file(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def previous_file(path: Path) -> Path:
    return path.with_name(path.name + ".previous")


async def reseal_all(session: AsyncSession, keys: KeyRing, new: MasterKey, now: datetime) -> RotationSummary:
    """Re-seal every server key and officer private key under `new`. Audit-logged."""
    server_keys = list(await session.scalars(select(ServerKey).with_for_update()))
    for row in server_keys:
        row.sealed = new.seal("server-key", row.name, keys.master.unseal("server-key", row.name, row.sealed))
    officers = list(await session.scalars(select(Officer).with_for_update()))
    for officer in officers:
        identity = str(officer.id)
        raw = keys.master.unseal("officer-private-key", identity, officer.sealed_private_key)
        officer.sealed_private_key = new.seal("officer-private-key", identity, raw)
    summary = RotationSummary(len(server_keys), len(officers))
    await audit.record_event(
        session,
        actor="admin",
        action="keys.rotated",
        detail=f"re-sealed {summary.server_keys} server keys and {summary.officer_keys} officer keys",
        now=now,
    )
    return summary


def stage_key_file(path: Path, new: MasterKey) -> None:
    """Step 1 of a file rotation: the new key on disk before the database depends on it."""
    write_key_file(pending_file(path), new)


def finish_key_file(path: Path, old: MasterKey) -> None:
    """Step 3: keep the old key as `.previous`, then move the new one into place atomically."""
    write_key_file(previous_file(path), old)
    os.replace(pending_file(path), path)


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
        finish_key_file(path, master)
        log.warning("keys.rotation_completed_after_interruption")
        return keys
