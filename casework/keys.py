"""The master key, the server keys it seals, and the `KeyRing` services use.

The master key (32 random bytes) lives outside the database: in
SRO_MASTER_KEY (base64url), in SRO_MASTER_KEY_FILE, or, for local use with
SQLite only, in var/master.key, generated on first run. It seals the server
keys and every officer's private key, so the database alone decrypts
nothing. Losing it loses every case: back it up (README).

Server keys are random 32-byte data keys stored sealed in `server_keys`:
'pseudonym' (HMAC of chat ids), 'case_code' (lookup hash of case codes),
'enrollment' (hash of enrollment codes), 'state' (drafts) and 'address'
(notification addresses). Rotation re-seals them; their values never
change, so every hash keeps working.
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
from casework import crypto
from casework.errors import MasterKeyError
from storage import dialect
from storage.models import ServerKey

log = logging.getLogger(__name__)

LOCAL_KEY_FILE = VAR_DIR / "master.key"
SERVER_KEY_NAMES = ("pseudonym", "case_code", "enrollment", "state", "address")
_SEAL_FORMAT = b"\x01"  # a version byte, so a later format can be told apart
_SEAL_INFO = b"sro-connect master-seal v1:"
_PSEUDONYM_DOMAIN = b"chat:"


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
            raise MasterKeyError(f"a master key is {crypto.KEY_SIZE} bytes, this one is {len(raw)}")
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
            raise MasterKeyError("the master key is not valid base64url text") from error
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
        raise MasterKeyError(f"master key file {path} does not exist") from error
    except (OSError, UnicodeDecodeError) as error:
        raise MasterKeyError(f"cannot read master key file {path}: {type(error).__name__}") from error
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
class KeyRing:
    """The master key and the unsealed server keys: what every service needs to seal and open."""

    master: MasterKey
    pseudonym_key: bytes
    case_code_key: bytes
    enrollment_key: bytes
    state_key: bytes
    address_key: bytes

    @classmethod
    async def load(cls, session: AsyncSession, master: MasterKey, now: datetime) -> KeyRing:
        """Unseal the server keys, creating any that do not exist yet (the first run)."""
        rows = {key.name: key.sealed for key in await session.scalars(select(ServerKey))}
        missing = [name for name in SERVER_KEY_NAMES if name not in rows]
        if missing:
            values = [
                {
                    "name": name,
                    "sealed": master.seal("server-key", name, crypto.random_key()),
                    "created_at": now,
                }
                for name in missing
            ]
            # Two processes starting at once: the second one's insert is ignored, then both read.
            await session.execute(dialect.insert(session, ServerKey).values(values).on_conflict_do_nothing())
            rows = {key.name: key.sealed for key in await session.scalars(select(ServerKey))}
        try:
            keys = {name: master.unseal("server-key", name, rows[name]) for name in SERVER_KEY_NAMES}
        except crypto.DecryptionError as error:
            raise MasterKeyError(
                "the master key does not open this database's keys: is SRO_MASTER_KEY "
                "(or its file) the one this database was created with?"
            ) from error
        return cls(
            master=master,
            pseudonym_key=keys["pseudonym"],
            case_code_key=keys["case_code"],
            enrollment_key=keys["enrollment"],
            state_key=keys["state"],
            address_key=keys["address"],
        )

    def pseudonym(self, chat_id: int) -> str:
        """A stable stand-in for a chat id (64 hex chars); without the server key it reveals nothing."""
        return crypto.keyed_hash(self.pseudonym_key, _PSEUDONYM_DOMAIN, str(chat_id).encode()).hex()

    def seal_officer_key(self, officer_id: int, private_key: X25519PrivateKey) -> bytes:
        return self.master.seal("officer-private-key", str(officer_id), crypto.private_bytes(private_key))

    def officer_key(self, officer_id: int, sealed: bytes) -> X25519PrivateKey:
        raw = self.master.unseal("officer-private-key", str(officer_id), sealed)
        return crypto.private_key_from_bytes(raw)

    def __repr__(self) -> str:
        return "KeyRing(<hidden>)"
