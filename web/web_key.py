"""The dashboard's own key: it seals TOTP secrets and authenticates account rows and tokens.

It is not the master key and opens nothing of a case. The operator's `sro` makes it (`sro admin
web-key PATH`) and uses it to bind the accounts it adds, disables and resets; the web process reads
it from WEB_KEY_FILE (a file only its owner may read, refused otherwise, as the master key is). With
SQLite on this machine both find it in var/web.key, made on first use; with PostgreSQL it must be
given. So someone who can read or write the database, but not this file, can neither clone a second
factor (the secret is sealed to its account), nor add an account, change its role or schools or
enable it (the row no longer verifies, and a row that does not verify cannot sign in), nor forge a
session or a setup link (their stored hashes are keyed, and name their account).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from casework.vault import crypto

_TOTP_INFO = b"sro-connect web totp v1"
_ROW_INFO = b"sro-connect web account row v1"
_TOKEN_INFO = b"sro-connect web token v1"
_THROTTLE_INFO = b"sro-connect web throttle v1"


class WebKeyError(RuntimeError):
    """No usable web key: missing, unreadable, readable by others, or not a key."""


class WebKey:
    """32 secret bytes, with the four keys derived from them (never shown by repr)."""

    __slots__ = ("_raw", "_row", "_throttle", "_token", "_totp")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != crypto.KEY_SIZE:
            raise WebKeyError(f"a web key is {crypto.KEY_SIZE} bytes, this one is {len(raw)}")
        self._raw = raw
        self._totp = crypto.derive_key(raw, _TOTP_INFO)
        self._row = crypto.derive_key(raw, _ROW_INFO)
        self._token = crypto.derive_key(raw, _TOKEN_INFO)
        self._throttle = crypto.derive_key(raw, _THROTTLE_INFO)

    @classmethod
    def generate(cls) -> WebKey:
        return cls(crypto.random_key())

    @classmethod
    def decode(cls, text: str) -> WebKey:
        cleaned = text.strip()
        try:
            return cls(base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4)))
        except (binascii.Error, ValueError) as error:
            raise WebKeyError("the web key is not base64url text of 32 bytes") from error

    def encoded(self) -> str:
        return base64.urlsafe_b64encode(self._raw).decode("ascii").rstrip("=")

    def __repr__(self) -> str:
        return "WebKey(<hidden>)"

    def seal_totp(self, account_id: int, secret: str) -> bytes:
        """The TOTP secret sealed to its account: useless to a reader, refused if moved to another row."""
        return crypto.seal_blob(self._totp, secret.encode("ascii"), f"web-totp:{account_id}".encode())

    def open_totp(self, account_id: int, sealed: bytes) -> str | None:
        """The secret; None if it was altered, moved from another account or sealed with another key."""
        try:
            return crypto.open_blob(self._totp, sealed, f"web-totp:{account_id}".encode()).decode("ascii")
        except (crypto.DecryptionError, UnicodeDecodeError):
            return None

    def account_mac(
        self, account_id: int, email: str, role: str, active: bool, school_ids: Iterable[int]
    ) -> bytes:
        """What binds an account row: who it is, its role, whether it may sign in, and its schools."""
        row = json.dumps([account_id, email, str(role), bool(active), sorted(set(school_ids))])
        return crypto.keyed_hash(self._row, b"web-account\0", row.encode())

    def token_hash(self, kind: str, token: str) -> bytes:
        """How a session or setup token is stored: keyed, so a database writer cannot make one up."""
        return crypto.keyed_hash(self._token, kind.encode() + b"\0", token.encode())

    def throttle_key(self, scope: str, value: str) -> bytes:
        """How a failed sign-in's email or address is stored: keyed, so a database reader cannot find
        the address by hashing every IPv4 one, or confirm a guessed email."""
        return crypto.keyed_hash(self._throttle, scope.encode() + b"\0", value.encode())


def new_token(account_id: int) -> str:
    """A session or setup token naming its account (checked against the row it finds)."""
    return f"{account_id}.{secrets.token_urlsafe(32)}"


def account_of(token: str) -> int | None:
    head, _, rest = token.partition(".")
    return int(head) if head.isdigit() and len(head) < 12 and rest else None


def read_web_key_file(path: Path) -> WebKey:
    """The key in `path`, refused if the file can be read by anyone but its owner."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as error:
        raise WebKeyError(
            f"web key file {path} does not exist: make one with `sro admin web-key {path}` "
            "(accounts bound with another key must then be reset)"
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise WebKeyError(
            f"cannot read web key file {path}: it must be a key file this user may read"
        ) from error
    mode = path.stat().st_mode
    if mode & 0o077:
        raise WebKeyError(
            f"web key file {path} can be read by other users (mode {mode & 0o777:o}); "
            f"make it private with: chmod 600 {path}"
        )
    return WebKey.decode(text)


def write_web_key_file(path: Path, key: WebKey) -> None:
    """Write `key` to a new file only its owner may read; an existing file is never replaced."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key.encoded() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # atomic "create if absent": FileExistsError if there is one
    finally:
        temporary.unlink()


def load_web_key(configured: Path | None, *, sqlite: bool, local_file: Path) -> WebKey:
    """WEB_KEY_FILE's key; else, with SQLite only, the local file, made on first use."""
    if configured is not None:
        return read_web_key_file(configured)
    if not sqlite:
        raise WebKeyError(
            "no web key: with PostgreSQL set WEB_KEY_FILE, for the dashboard and for sro "
            "(make one with `sro admin web-key PATH`)"
        )
    with contextlib.suppress(FileExistsError):  # made already (by sro, or the other process)
        write_web_key_file(local_file, WebKey.generate())
    return read_web_key_file(local_file)
