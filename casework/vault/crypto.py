"""The one façade over the cryptographic primitives; nothing else in the project touches them.

- AEAD: AES-256-GCM, a random 96-bit nonce per encryption, associated data
  binding every ciphertext to where it belongs (case, message, purpose).
- Key derivation: HKDF-SHA256 with a distinct `info` per purpose.
- Envelopes: a content key wrapped for an X25519 public key by ephemeral
  ECDH, HKDF-SHA256 and AEAD. Version 2 (written today): one ephemeral key
  per message, shared by its envelopes, so sealing for N readers costs N+1
  scalar multiplications instead of 2N; each wrapping key is bound to its
  reader by HKDF info = ENVELOPE_INFO_V2 || ephemeral public || recipient
  public || context, and the AEAD's associated data is the same string.
  Its stored wrapped key starts with the version byte (49 bytes). Version 1
  (opened only): one ephemeral key per envelope, salt = ephemeral public ||
  recipient public, info = ENVELOPE_INFO + context, a 48-byte wrapped key.
  Opening either is one key agreement.
- Keyed hashes: HMAC-SHA256, domain-separated by a prefix.

Any failure to open (a changed byte anywhere: ciphertext, nonce, ephemeral
key, wrapped key, associated data) raises `DecryptionError`, never garbage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
PUBLIC_KEY_SIZE = 32
ENVELOPE_INFO = b"sro-connect envelope v1"
ENVELOPE_INFO_V2 = b"sro-connect envelope v2|"
ENVELOPE_V2 = 2
_V2_PREFIX = bytes([ENVELOPE_V2])
_V1_WRAPPED_SIZE = KEY_SIZE + TAG_SIZE  # a version-1 wrapped key: no version byte

_RAW = serialization.Encoding.Raw
_SHA256 = hashes.SHA256()  # stateless: one instance serves every derivation


class DecryptionError(Exception):
    """A ciphertext, nonce, key envelope or its associated data was altered, or the key is wrong."""


@dataclass(frozen=True, slots=True)
class Sealed:
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """A content key wrapped for one recipient's X25519 public key."""

    ephemeral_public_key: bytes
    nonce: bytes
    wrapped_key: bytes  # version 2 and later: the version byte, then the AEAD ciphertext

    @property
    def version(self) -> int:
        """1 for the 48-byte wrapped keys written before versions; else the leading version byte."""
        if len(self.wrapped_key) == _V1_WRAPPED_SIZE:
            return 1
        return self.wrapped_key[0] if self.wrapped_key else 0


def random_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def derive_key(secret: bytes, info: bytes, *, salt: bytes | None = None, length: int = KEY_SIZE) -> bytes:
    """HKDF-SHA256: a key for one purpose (`info`) from a secret that serves several."""
    return HKDF(algorithm=_SHA256, length=length, salt=salt, info=info).derive(secret)


def keyed_hash(key: bytes, domain: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of `domain || data`: a stable, unguessable stand-in for a secret value."""
    return hmac.new(key, domain + data, hashlib.sha256).digest()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> Sealed:
    nonce = secrets.token_bytes(NONCE_SIZE)
    return Sealed(nonce, AESGCM(key).encrypt(nonce, plaintext, aad))


def open_sealed(key: bytes, sealed: Sealed, aad: bytes) -> bytes:
    if len(sealed.nonce) != NONCE_SIZE:
        raise DecryptionError("the nonce has the wrong length")
    try:
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag as error:
        raise DecryptionError("authentication failed: altered data or wrong key") from error


def seal_blob(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """`seal` into one byte string (nonce || ciphertext), for columns that hold a single value."""
    sealed = seal(key, plaintext, aad)
    return sealed.nonce + sealed.ciphertext


def open_blob(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise DecryptionError("the sealed value is too short")
    return open_sealed(key, Sealed(blob[:NONCE_SIZE], blob[NONCE_SIZE:]), aad)


def new_private_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def private_key_from_bytes(raw: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(raw)


def private_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


def wrap_key(content_key: bytes, recipient_public_key: bytes, context: bytes) -> Envelope:
    """Wrap `content_key` so that only the holder of the recipient's private key can unwrap it.

    `context` names the case, message and recipient; it goes into the key
    derivation and the associated data, so an envelope moved to another
    message or recipient no longer opens.
    """
    return wrap_key_for_all(content_key, [(recipient_public_key, context)])[0]


def wrap_key_for_all(content_key: bytes, recipients: Sequence[tuple[bytes, bytes]]) -> list[Envelope]:
    """`wrap_key` for several (recipient public key, context) pairs under one ephemeral key (version 2).

    Sharing the ephemeral key is safe because each wrapping key comes from a
    different shared secret and its derivation names the recipient's public
    key and context: no envelope opens for another reader or place.
    """
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = public_bytes(ephemeral)
    envelopes = []
    for recipient_public_key, context in recipients:
        if len(recipient_public_key) != PUBLIC_KEY_SIZE:
            raise ValueError("a recipient's public key is 32 bytes")
        shared = ephemeral.exchange(_recipient_key(recipient_public_key))
        label = _v2_label(ephemeral_public, recipient_public_key, context)
        nonce = secrets.token_bytes(NONCE_SIZE)
        wrapped = AESGCM(derive_key(shared, label)).encrypt(nonce, content_key, label)
        envelopes.append(Envelope(ephemeral_public, nonce, _V2_PREFIX + wrapped))
    return envelopes


@lru_cache(maxsize=4096)
def _recipient_key(public_key: bytes) -> X25519PublicKey:
    """A reader's public key, parsed once: the same officers' keys seal every case of their schools.

    Keyed by the raw bytes, so a changed key (a rotation) is simply another entry.
    """
    return X25519PublicKey.from_public_bytes(public_key)


def _v2_label(ephemeral_public: bytes, recipient_public: bytes, context: bytes) -> bytes:
    # Both keys have a fixed size, so the concatenation reads only one way.
    return ENVELOPE_INFO_V2 + ephemeral_public + recipient_public + context


def unwrap_key(envelope: Envelope, recipient: X25519PrivateKey, context: bytes) -> bytes:
    """The content key of an envelope of either version; one key agreement."""
    if len(envelope.ephemeral_public_key) != PUBLIC_KEY_SIZE:
        raise DecryptionError("the envelope's ephemeral key has the wrong length")
    version = envelope.version
    if version not in (1, ENVELOPE_V2):
        raise DecryptionError(f"unknown envelope version {version}")
    try:
        shared = recipient.exchange(X25519PublicKey.from_public_bytes(envelope.ephemeral_public_key))
    except ValueError as error:  # a low-order point gives an all-zero secret, which cryptography refuses
        raise DecryptionError("the envelope's ephemeral key is invalid") from error
    if version == 1:
        label = ENVELOPE_INFO + context
        wrapping_key = derive_key(shared, label, salt=envelope.ephemeral_public_key + public_bytes(recipient))
        ciphertext = envelope.wrapped_key
    else:
        label = _v2_label(envelope.ephemeral_public_key, public_bytes(recipient), context)
        wrapping_key = derive_key(shared, label)
        ciphertext = envelope.wrapped_key[1:]
    content_key = open_sealed(wrapping_key, Sealed(envelope.nonce, ciphertext), label)
    if len(content_key) != KEY_SIZE:
        raise DecryptionError("the unwrapped key has the wrong length")
    return content_key


def wrap_key_v1(content_key: bytes, recipient_public_key: bytes, context: bytes) -> Envelope:
    """The version-1 envelope, as stored before versions: kept to test that such envelopes still open."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = public_bytes(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public_key))
    wrapping_key = derive_key(shared, ENVELOPE_INFO + context, salt=ephemeral_public + recipient_public_key)
    sealed = seal(wrapping_key, content_key, ENVELOPE_INFO + context)
    return Envelope(ephemeral_public, sealed.nonce, sealed.ciphertext)
