"""Case codes: the student's receipt, and the only key to their own case.

80 random bits as 16 Crockford symbols plus a check symbol. The server
stores two things derived from the code, with separate domains so that one
never helps to find the other:
- the lookup hash, HMAC(server key 'case_code', "lookup:" + code), to find
  the case;
- the student's X25519 key, HKDF(code, per-case salt, "student-key"), whose
  public half seals every message of the case for the student.
The code itself is never stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from casework import crockford, crypto

CODE_BITS = 80
DATA_SYMBOLS = CODE_BITS // 5
SALT_SIZE = 16
_LOOKUP_DOMAIN = b"sro-connect case-code lookup:"
_STUDENT_KEY_INFO = b"sro-connect student-key v1"


@dataclass(frozen=True, slots=True)
class CaseCode:
    """A valid case code, normalised (16 data symbols, no check symbol, no hyphens)."""

    data: str

    @classmethod
    def new(cls) -> CaseCode:
        return cls(crockford.new_code(CODE_BITS)[:-1])

    @classmethod
    def parse(cls, text: str) -> CaseCode:
        """Raises `MalformedCode` or `BadCheckCharacter` (see `crockford.parse`)."""
        return cls(crockford.parse(text, DATA_SYMBOLS))

    def display(self) -> str:
        return crockford.display(self.data + crockford.check_symbol(crockford.decode(self.data)))

    def lookup_hash(self, case_code_key: bytes) -> bytes:
        return crypto.keyed_hash(case_code_key, _LOOKUP_DOMAIN, self.data.encode("ascii"))

    def student_key(self, salt: bytes) -> X25519PrivateKey:
        raw = crypto.derive_key(self.data.encode("ascii"), _STUDENT_KEY_INFO, salt=salt)
        return crypto.private_key_from_bytes(raw)

    def __repr__(self) -> str:  # never print a code by accident in a log or a traceback
        return "CaseCode(<hidden>)"

    __str__ = __repr__


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_SIZE)
