"""The master key, the server keys it seals, and the `KeyRing` services use.

The master key (32 random bytes) lives outside the database: in
SRO_MASTER_KEY (base64url), in SRO_MASTER_KEY_FILE, or, for local use with
SQLite only, in var/master.key, generated on first run. It seals the server
keys and every officer's private key, so the database alone decrypts
nothing. Losing it loses every case: back it up (README).

Server keys are random 32-byte data keys stored sealed in `server_keys`:
'pseudonym' (HMAC of chat ids), 'case_code' (lookup hash of case codes),
'enrollment' (hash of enrollment codes), 'state' (drafts), 'address'
(notification addresses) and 'directory' (the MACs of `directory_auth`).
They form one generation with one version number; `sro keys rotate` makes
the next generation (casework.vault.rotation), keeping only 'case_code', whose
change would orphan every code already issued.

A `KeyRing` is bound to its `Database` when loaded, so every lookup of an
officer, wherever it happens (routing, alerts, delivery), can verify the
record without each caller passing keys; and it reloads itself when it
meets a row of a newer key version (a rotation by another process).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import VAR_DIR, Settings
from casework.errors import MasterKeyError
from casework.vault import crypto
from storage import dialect
from storage.models import ServerKey

log = logging.getLogger(__name__)

LOCAL_KEY_FILE = VAR_DIR / "master.key"
SERVER_KEY_NAMES = ("pseudonym", "case_code", "enrollment", "state", "address", "directory")
# The previous generation's directory key, kept only while a rotation re-authenticates messages.
PREVIOUS_DIRECTORY = "old-directory"
_BINDING = "sro-connect keyring"
_SEAL_FORMAT = b"\x01"  # a version byte, so a later format can be told apart
_SEAL_INFO = b"sro-connect master-seal v1:"
_PSEUDONYM_DOMAIN = b"chat:"
# An officer's old private key, kept sealed only while a rotation re-wraps (casework.vault.rotation).
PREVIOUS_KEY_PURPOSE = "officer-previous-key"


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the master key came from, which decides how `sro keys rotate` hands over a new one."""

    kind: Literal["environment", "file", "generated"]
    path: Path | None = None


class MasterKey:
    """32 secret bytes; seals values bound to a purpose and a row ("officer-private-key", "7")."""

    __slots__ = ("_raw", "source")

    def __init__(self, raw: bytes, source: KeySource) -> None:
        if len(raw) != crypto.KEY_SIZE:
            raise MasterKeyError(
                f"a master key is {crypto.KEY_SIZE} bytes, this one is {len(raw)}: copy it again from "
                "your backup (or, for a new installation, make one with `sro keys generate`)"
            )
        self._raw = raw
        self.source = source

    @classmethod
    def generate(cls, source: KeySource = KeySource("environment")) -> MasterKey:
        return cls(secrets.token_bytes(crypto.KEY_SIZE), source)

    @classmethod
    def decode(cls, text: str, source: KeySource) -> MasterKey:
        """From base64url text, with or without padding."""
        cleaned = text.strip()
        try:
            raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError) as error:
            raise MasterKeyError(
                "the master key is not valid base64url text: copy it again from your backup "
                "(or, for a new installation, make one with `sro keys generate`)"
            ) from error
        return cls(raw, source)

    def encoded(self) -> str:
        return base64.urlsafe_b64encode(self._raw).decode("ascii").rstrip("=")

    def seal(self, purpose: str, identity: str, plaintext: bytes) -> bytes:
        key = crypto.derive_key(self._raw, _SEAL_INFO + purpose.encode())
        return _SEAL_FORMAT + crypto.seal_blob(key, plaintext, _aad(purpose, identity))

    def unseal(self, purpose: str, identity: str, blob: bytes) -> bytes:
        """Raises `crypto.DecryptionError` if the blob was altered, moved, or sealed by another key."""
        if blob[:1] != _SEAL_FORMAT:
            raise crypto.DecryptionError("unknown sealed-value format")
        key = crypto.derive_key(self._raw, _SEAL_INFO + purpose.encode())
        return crypto.open_blob(key, blob[1:], _aad(purpose, identity))

    def __repr__(self) -> str:
        return f"MasterKey(<hidden>, source={self.source.kind})"


def _aad(purpose: str, identity: str) -> bytes:
    return f"{purpose}:{identity}".encode()


def load_master_key(settings: Settings, *, local_key_file: Path = LOCAL_KEY_FILE) -> MasterKey:
    """The master key from the environment or its file; generated locally only for SQLite."""
    if settings.sro_master_key is not None and settings.sro_master_key_file is not None:
        raise MasterKeyError("set SRO_MASTER_KEY or SRO_MASTER_KEY_FILE, not both")
    if settings.sro_master_key is not None:
        return MasterKey.decode(settings.sro_master_key.get_secret_value(), KeySource("environment"))
    if settings.sro_master_key_file is not None:
        return read_key_file(settings.sro_master_key_file, KeySource("file", settings.sro_master_key_file))
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        raise MasterKeyError(
            "no master key: with PostgreSQL, set SRO_MASTER_KEY or SRO_MASTER_KEY_FILE "
            "(`sro keys generate` prints a new one). Keep a copy somewhere safe: "
            "without it no case can ever be read again."
        )
    return _local_key(local_key_file)


def read_key_file(path: Path, source: KeySource) -> MasterKey:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as error:
        raise MasterKeyError(
            f"master key file {path} does not exist. If this is a new installation, make one with: "
            f"sro keys generate > {path} && chmod 600 {path}. If the database already holds cases, "
            "restore the key from your backup instead (a new key cannot open them)"
        ) from error
    except UnicodeDecodeError as error:
        raise MasterKeyError(
            f"master key file {path} is not a key (a key is one line of 43 letters, digits, - and _): "
            "point SRO_MASTER_KEY_FILE at the right file"
        ) from error
    except OSError as error:
        raise MasterKeyError(
            f"cannot read master key file {path}: check that it is a file this user may read "
            f"(chmod 600 {path}, owned by this user)"
        ) from error
    mode = path.stat().st_mode
    if mode & 0o077:
        # As ssh does with its keys: a key others can read is a key that may have leaked.
        raise MasterKeyError(
            f"master key file {path} can be read by other users (mode {mode & 0o777:o}); "
            f"make it private with: chmod 600 {path}"
        )
    return MasterKey.decode(text, source)


def write_key_file(path: Path, key: MasterKey) -> None:
    """Write a key file readable by its owner only, durably, replacing any file at `path`."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.encoded() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _local_key(path: Path) -> MasterKey:
    source = KeySource("generated", path)
    if path.exists():
        return read_key_file(path, source)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    key = MasterKey.generate(source)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    write_key_file(temporary, key)
    try:
        os.link(temporary, path)  # atomic "create if absent": two first runs agree on one key
    except FileExistsError:
        return read_key_file(path, source)
    finally:
        temporary.unlink()
    log.warning("master_key.generated path=%s (back it up: losing it loses every case)", path)
    return key


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
    generation = KeyGeneration(
        version=version,
        master=master,
        pseudonym_key=keys["pseudonym"],
        case_code_key=keys["case_code"],
        enrollment_key=keys["enrollment"],
        state_key=keys["state"],
        address_key=keys["address"],
        directory_key=keys["directory"],
        previous_directory_key=previous_key,
    )
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
