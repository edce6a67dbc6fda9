"""The master key: 32 random bytes kept outside the database, where they come from, and how they seal.

The master key lives in SRO_MASTER_KEY (base64url), in SRO_MASTER_KEY_FILE,
or, for local use with SQLite only, in a local file generated on first run
(var/master.key). It seals the server keys and every officer's private key
(casework.vault.keys), so the database alone decrypts nothing. Losing it
loses every case: back it up (README).

Start-up (the bot, `sro`) loads it and passes it in; casework imports no
settings (`MasterKeySettings` says what it reads, which app.settings has).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy.engine import make_url

from casework.errors import MasterKeyError
from casework.vault import crypto

log = logging.getLogger(__name__)

_SEAL_FORMAT = b"\x01"  # a version byte, so a later format can be told apart
_SEAL_INFO = b"sro-connect master-seal v1:"


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


class SecretText(Protocol):
    """A secret that shows its value only when asked (pydantic's SecretStr)."""

    def get_secret_value(self) -> str: ...


class MasterKeySettings(Protocol):
    """Where the settings say the key is: app.settings.Settings has these (casework imports no settings)."""

    @property
    def sro_master_key(self) -> SecretText | None: ...
    @property
    def sro_master_key_file(self) -> Path | None: ...
    @property
    def database_url(self) -> str: ...


def load_master_key(settings: MasterKeySettings, *, local_key_file: Path) -> MasterKey:
    """From SRO_MASTER_KEY or its file; else generated in `local_key_file`, for SQLite only."""
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
