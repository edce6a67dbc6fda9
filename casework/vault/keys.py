"""The server keys the master key seals, and the `KeyRing` services use.

Server keys are random 32-byte data keys stored sealed in `server_keys`:
'pseudonym' (HMAC of chat ids), 'case_code' (lookup hash of case codes),
'enrollment' (hash of enrollment codes), 'state' (drafts), 'address'
(notification addresses) and 'directory' (the MACs of `directory_auth`).
They form one generation with one version number; `sro keys rotate` makes
the next generation (casework.vault.rotation), keeping only 'case_code', whose
change would orphan every code already issued. The master key that seals them
is casework.vault.master_key's.

A `KeyRing` is bound to its `Database` when loaded, so every lookup of an
officer, wherever it happens (routing, alerts, delivery), can verify the
record without each caller passing keys; and it reloads itself when it
meets a row of a newer key version (a rotation by another process).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.errors import MasterKeyError
from casework.vault import crypto
from casework.vault.master_key import MasterKey, read_key_file
from storage import dialect
from storage.models import ServerKey

log = logging.getLogger(__name__)

SERVER_KEY_NAMES = ("pseudonym", "case_code", "enrollment", "state", "address", "directory")
# The previous generation's directory key, kept only while a rotation re-authenticates messages.
PREVIOUS_DIRECTORY = "old-directory"
_BINDING = "sro-connect keyring"
_PSEUDONYM_DOMAIN = b"chat:"
# An officer's old private key, kept sealed only while a rotation re-wraps (casework.vault.rotation).
PREVIOUS_KEY_PURPOSE = "officer-previous-key"


@dataclass(frozen=True, slots=True)
class KeyGeneration:
    """One version of the server keys, unsealed, with the master key that sealed them."""

    version: int
    master: MasterKey
    pseudonym_key: bytes
    case_code_key: bytes
    enrollment_key: bytes
    state_key: bytes
    address_key: bytes
    directory_key: bytes
    previous_directory_key: bytes | None  # only during a rotation

    def __repr__(self) -> str:
        return f"KeyGeneration(version={self.version}, <hidden>)"

    @classmethod
    def from_keys(
        cls, version: int, master: MasterKey, keys: Mapping[str, bytes], previous_directory_key: bytes | None
    ) -> KeyGeneration:
        """A generation from its server keys by name (`SERVER_KEY_NAMES`)."""
        return cls(
            version=version,
            master=master,
            pseudonym_key=keys["pseudonym"],
            case_code_key=keys["case_code"],
            enrollment_key=keys["enrollment"],
            state_key=keys["state"],
            address_key=keys["address"],
            directory_key=keys["directory"],
            previous_directory_key=previous_directory_key,
        )


async def _server_key_rows(session: AsyncSession) -> dict[str, ServerKey]:
    return {key.name: key for key in await session.scalars(select(ServerKey))}


async def load_generation(
    session: AsyncSession, master: MasterKey, now: datetime
) -> tuple[KeyGeneration, bool]:
    """Unseal the server keys, creating any missing (the first run).

    The flag: this call created the 'directory' key (not a concurrent start).
    """
    rows = await _server_key_rows(session)
    missing = [name for name in SERVER_KEY_NAMES if name not in rows]
    version = max((row.version for name, row in rows.items() if name in SERVER_KEY_NAMES), default=1)
    ours: dict[str, bytes] = {}
    if missing:
        ours = {
            name: master.seal("server-key", server_key_identity(name, version), crypto.random_key())
            for name in missing
        }
        values = [
            {"name": name, "sealed": sealed, "created_at": now, "version": version}
            for name, sealed in ours.items()
        ]
        # Two processes starting at once: the second one's insert is ignored, then both read.
        await session.execute(dialect.insert(session, ServerKey).values(values).on_conflict_do_nothing())
        rows = await _server_key_rows(session)
    try:
        keys = {name: _unseal_server_key(master, rows[name]) for name in SERVER_KEY_NAMES}
        previous = rows.get(PREVIOUS_DIRECTORY)
        previous_key = _unseal_server_key(master, previous) if previous is not None else None
    except crypto.DecryptionError as error:
        raise MasterKeyError(
            "the master key does not open this database's keys: is SRO_MASTER_KEY "
            "(or its file) the one this database was created with?"
        ) from error
    generation = KeyGeneration.from_keys(version, master, keys, previous_key)
    created = "directory" in ours and bytes(rows["directory"].sealed) == ours["directory"]
    return generation, created


def server_key_identity(name: str, version: int) -> str:
    """What a server key's seal is bound to: its name and generation (version 1 keeps the bare name)."""
    return name if version == 1 else f"{name}@{version}"


def _unseal_server_key(master: MasterKey, row: ServerKey) -> bytes:
    name = "directory" if row.name == PREVIOUS_DIRECTORY else row.name
    return master.unseal("server-key", server_key_identity(name, row.version), row.sealed)


class KeyRing:
    """The current key generation: what every service needs to seal, open and verify.

    One object per process, shared by every holder, so that `reload` (a newer
    generation met in a row) updates them all at once.
    """

    __slots__ = ("_current",)

    def __init__(self, generation: KeyGeneration) -> None:
        self._current = generation

    @classmethod
    async def load(cls, session: AsyncSession, master: MasterKey, now: datetime) -> KeyRing:
        """Unseal the server keys (creating them on the first run) and bind the ring to the database.

        The first start that creates the 'directory' key also authenticates the
        rows that exist then (first use, see `directory_auth.adopt_existing`).
        """
        from casework.vault.directory_auth import adopt_existing  # here: it imports this module

        generation, directory_created = await load_generation(session, master, now)
        ring = cls(generation)
        bind(session, ring)
        if directory_created:
            await adopt_existing(session, ring, now)
        return ring

    @property
    def current(self) -> KeyGeneration:
        return self._current

    @property
    def version(self) -> int:
        return self._current.version

    @property
    def master(self) -> MasterKey:
        return self._current.master

    @property
    def pseudonym_key(self) -> bytes:
        return self._current.pseudonym_key

    @property
    def case_code_key(self) -> bytes:
        return self._current.case_code_key

    @property
    def enrollment_key(self) -> bytes:
        return self._current.enrollment_key

    @property
    def state_key(self) -> bytes:
        return self._current.state_key

    @property
    def address_key(self) -> bytes:
        return self._current.address_key

    @property
    def directory_key(self) -> bytes:
        return self._current.directory_key

    def replace(self, generation: KeyGeneration) -> None:
        """Switch every holder of this ring to `generation` (after a rotation)."""
        self._current = generation

    async def reload(self, session: AsyncSession, now: datetime) -> bool:
        """Load the database's current generation; True if it changed.

        A rotation by another process changes the master key too: a key file
        is read again (the new key, or its staged `.next` while the rotation
        runs); a key from the environment cannot change under a running
        process, so that process must be restarted with the new key.
        """
        master = self.master
        candidates = [master]
        path = master.source.path
        if path is not None:
            pending = path.with_name(path.name + ".next")
            for file in (path, pending):
                if file.exists():
                    candidates.append(read_key_file(file, master.source))
        rows = await _server_key_rows(session)
        version = max((row.version for name, row in rows.items() if name in SERVER_KEY_NAMES), default=1)
        if version == self.version:
            return False
        for candidate in reversed(candidates):
            try:
                generation, _ = await load_generation(session, candidate, now)
            except MasterKeyError:
                continue
            self._current = generation
            log.warning("keys.reloaded version=%d", generation.version)
            return True
        raise MasterKeyError(
            f"the database's keys are now version {version} and this process holds version "
            f"{self.version}: restart it with the new master key"
        )

    def pseudonym(self, chat_id: int) -> str:
        """A stable stand-in for a chat id (64 hex chars); without the server key it reveals nothing."""
        return crypto.keyed_hash(self.pseudonym_key, _PSEUDONYM_DOMAIN, str(chat_id).encode()).hex()

    def seal_officer_key(self, officer_id: int, private_key: X25519PrivateKey) -> bytes:
        return self.master.seal("officer-private-key", str(officer_id), crypto.private_bytes(private_key))

    def officer_key(self, officer_id: int, sealed: bytes) -> X25519PrivateKey:
        raw = self.master.unseal("officer-private-key", str(officer_id), sealed)
        return crypto.private_key_from_bytes(raw)

    def officer_keys(self, officer_id: int, sealed: bytes, previous: bytes | None) -> list[X25519PrivateKey]:
        """The officer's key, then during a rotation their previous one (envelopes not yet re-wrapped)."""
        found = [self.officer_key(officer_id, sealed)]
        if previous is not None:
            raw = self.master.unseal(PREVIOUS_KEY_PURPOSE, str(officer_id), previous)
            found.append(crypto.private_key_from_bytes(raw))
        return found

    def __repr__(self) -> str:
        return f"KeyRing(version={self.version}, <hidden>)"


def bind(session: AsyncSession, ring: KeyRing) -> None:
    """Make `ring` the keys of every later session of this session's `Database`."""
    shared = session.info.get("shared")
    target = shared if isinstance(shared, dict) else session.info
    target[_BINDING] = ring


def bound(session: AsyncSession) -> KeyRing:
    """The ring bound to this session's database; fails closed when none was loaded."""
    ring = bound_or_none(session)
    if ring is None:
        raise MasterKeyError("no keys are loaded for this database: officer records cannot be verified")
    return ring


def bound_or_none(session: AsyncSession) -> KeyRing | None:
    for place in (session.info, session.info.get("shared")):
        if isinstance(place, dict) and isinstance(place.get(_BINDING), KeyRing):
            ring: KeyRing = place[_BINDING]
            return ring
    return None
