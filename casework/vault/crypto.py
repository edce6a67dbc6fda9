"""The one façade over the cryptographic primitives; nothing else in the project touches them.

- AEAD: AES-256-GCM, a random 96-bit nonce per encryption, associated data
  binding every ciphertext to where it belongs (case, message, purpose).
- Key derivation: HKDF-SHA256 with a distinct `info` per purpose.
- Envelopes: a content key wrapped for an X25519 public key by ephemeral
  ECDH, HKDF-SHA256 (salt = ephemeral public || recipient public, info =
  ENVELOPE_INFO + context) and AEAD.
- Keyed hashes: HMAC-SHA256, domain-separated by a prefix.

Any failure to open (a changed byte anywhere: ciphertext, nonce, ephemeral
key, wrapped key, associated data) raises `DecryptionError`, never garbage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

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

_RAW = serialization.Encoding.Raw


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
    wrapped_key: bytes


def random_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def derive_key(secret: bytes, info: bytes, *, salt: bytes | None = None, length: int = KEY_SIZE) -> bytes:
    """HKDF-SHA256: a key for one purpose (`info`) from a secret that serves several."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


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
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = public_bytes(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public_key))
    wrapping_key = derive_key(shared, ENVELOPE_INFO + context, salt=ephemeral_public + recipient_public_key)
    sealed = seal(wrapping_key, content_key, ENVELOPE_INFO + context)
    return Envelope(ephemeral_public, sealed.nonce, sealed.ciphertext)


def unwrap_key(envelope: Envelope, recipient: X25519PrivateKey, context: bytes) -> bytes:
    if len(envelope.ephemeral_public_key) != PUBLIC_KEY_SIZE:
        raise DecryptionError("the envelope's ephemeral key has the wrong length")
    try:
        shared = recipient.exchange(X25519PublicKey.from_public_bytes(envelope.ephemeral_public_key))
    except ValueError as error:  # a low-order point gives an all-zero secret, which cryptography refuses
        raise DecryptionError("the envelope's ephemeral key is invalid") from error
    wrapping_key = derive_key(
        shared, ENVELOPE_INFO + context, salt=envelope.ephemeral_public_key + public_bytes(recipient)
    )
    content_key = open_sealed(
        wrapping_key, Sealed(envelope.nonce, envelope.wrapped_key), ENVELOPE_INFO + context
    )
    if len(content_key) != KEY_SIZE:
        raise DecryptionError("the unwrapped key has the wrong length")
    return content_key
