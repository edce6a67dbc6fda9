"""Case codes: the student's receipt, and the only key to their own case.

80 random bits as 16 Crockford symbols plus a check character from the same
letters and digits (see `crockford`; codes issued before issue 9 end in the
old mod-37 check, sometimes a symbol, and still open their case). The server
stores two things derived from the code, with separate domains so that one
never helps to find the other:
- the lookup hash, HMAC(server key 'case_code', "lookup:" + code), to find
  the case;
- the student's X25519 key, HKDF(code, per-case salt, "student-key"), whose
  public half seals every message of the case for the student.
Both cover the 16 data symbols only, never the check character, so a code
typed with either check opens the same case. The code itself is never stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from casework import crockford
from casework.errors import BadCheckCharacter, UnknownCaseCode
from casework.vault import crypto

CODE_BITS = 80
DATA_SYMBOLS = CODE_BITS // 5
SALT_SIZE = 16
_LOOKUP_DOMAIN = b"sro-connect case-code lookup:"
_STUDENT_KEY_INFO = b"sro-connect student-key v1"


@dataclass(frozen=True, slots=True)
class CaseCode:
    """A valid case code, normalised (16 data symbols, no check character, no hyphens).

    `old_check_only`: typed with a letter or digit that only the old check
    accepts (see `crockford.ParsedCode`); it decides `not_found`.
    """

    data: str
    old_check_only: bool = field(default=False, compare=False)

    @classmethod
    def new(cls) -> CaseCode:
        return cls(crockford.new_code(CODE_BITS)[:-1])

    @classmethod
    def parse(cls, text: str) -> CaseCode:
        """Raises `MalformedCode` or `BadCheckCharacter` (see `crockford.parse`)."""
        parsed = crockford.parse(text, DATA_SYMBOLS)
        return cls(parsed.data, parsed.old_check_only)

    def display(self) -> str:
        """Always with the current check character, also for a code first issued with the old one."""
        return crockford.display(self.data + crockford.check_character(self.data))

    def not_found(self) -> UnknownCaseCode | BadCheckCharacter:
        """The error for a code that opens no case.

        A code only the old check let through is then far more likely a typo
        of a new code than an old one, so it is called a typo: every single
        typo or neighbour swap in a new code is reported as a typo. The cost
        falls on old codes whose case was deleted: they hear "typo" instead
        of "no case" (both count as a miss for the rate limit).
        """
        if self.old_check_only:
            return BadCheckCharacter("the code has a typo: its check character does not match")
        return UnknownCaseCode("no case has this code (it may have been closed and deleted)")

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
